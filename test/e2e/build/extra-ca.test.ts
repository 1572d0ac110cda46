/**
 * NODE_EXTRA_CA_CERTS through bin/tzbuild's `#!` line: Node starts without it (so it does not
 * build its certificate store at start-up, tls-trust.ts), and TLS connections still trust the
 * certificates it names. An https server with a certificate from a throwaway CA (openssl) serves
 * a file to `ADD https://…`; bin/tzbuild is executed directly, as a user runs it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempStore, tzbuildBin } from '../../helpers/cli.js';
import { tempDir, writeContext } from '../../helpers/build-fixture.js';

let dir: string;
let server: Server;
let url: string;

/** A CA, and a certificate it signed for 127.0.0.1 (key and cert files in `dir`). */
async function makeCertificates(): Promise<void> {
  const openssl = (args: string[]) => execa('openssl', args, { cwd: dir });
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=tzbuild test CA',
    '-days',
    '2',
  ]);
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  ]);
}

beforeAll(async () => {
  dir = await tempDir('tls');
  await makeCertificates();
  server = createServer(
    { key: await readFile(path.join(dir, 'server.key')), cert: await readFile(path.join(dir, 'server.pem')) },
    (request, response) => {
      if (request.url === '/hello.txt')
        response.writeHead(200, { 'content-type': 'text/plain' }).end('hello over tls\n');
      else response.writeHead(404).end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hello.txt`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs bin/tzbuild itself (its `#!` line applies), with NODE_EXTRA_CA_CERTS set to `caFile`. */
function runDirect(args: string[], caFile: string | undefined) {
  const env: Record<string, string | undefined> = { ...process.env, NODE_EXTRA_CA_CERTS: caFile, NO_COLOR: '1' };
  return execa(tzbuildBin, args, { env, extendEnv: false, reject: false });
}

describe('NODE_EXTRA_CA_CERTS', () => {
  it('is not read while Node starts, only when TLS needs it', async () => {
    const missing = path.join(dir, 'no-such-ca.pem');
    // Node warns at start-up about an extra-certs file it cannot load; bin/tzbuild never gets it there.
    const direct = await runDirect(['--version'], missing);
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(direct.stderr).not.toContain('extra certs');
    const viaNode = await execa(process.execPath, [tzbuildBin, '--version'], {
      env: { NODE_EXTRA_CA_CERTS: missing },
      reject: false,
    });
    expect(viaNode.stderr).toContain('extra certs');
  });

  it('still makes ADD https:// trust the certificates it names', async () => {
    const context = await writeContext({ Dockerfile: `FROM scratch\nADD ${url} /hello.txt\n` });
    const trusted = await runDirect(
      ['build', '--root', await tempStore(), '--progress', 'plain', context],
      path.join(dir, 'ca.pem'),
    );
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    // Without the CA the same download fails verification: TLS is checked, not switched off.
    const untrusted = await runDirect(
      ['build', '--root', await tempStore(), '--progress', 'plain', context],
      undefined,
    );
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.stderr).toMatch(/download failed: .*(self-signed|unable to verify|local issuer)/i);
  });
});
