/**
 * FROM with a bare Docker Hub name, pulled through a configured mirror as `docker build` would
 * pull it from Docker Hub, and every way that can fail: one line naming the FROM line and the
 * reference, exit 1, nothing half-written in the store, and the next build pulls cleanly. The
 * "Docker Hub" here is a local registry configured as the only mirror (`hub-fallback: false`):
 * no test reaches a host off this machine.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTzbuild, tempStore } from '../../helpers/cli.js';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { tempDir } from './fixtures.js';
import { startProxy, type TestProxy } from './proxy.js';
import { freePort, useRegistry } from './registry-server.js';

const registry = useRegistry();
let proxy: TestProxy;

/** A store whose Docker Hub mirror is `mirror` (a registry host), and only that. */
async function storeWithMirror(...mirrors: string[]): Promise<string> {
  const store = await tempStore();
  const config = { 'registry-mirrors': mirrors.map((host) => `http://${host}`), 'hub-fallback': false };
  await writeFile(path.join(store, 'config.json'), JSON.stringify(config));
  return store;
}

async function context(dockerfile: string): Promise<string> {
  const dir = await tempDir('tzb-from-');
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

const build = (store: string, dir: string, ...flags: string[]) =>
  runTzbuild(['build', '--progress', 'plain', ...flags, dir], { env: { TZBUILD_ROOT: store } });

async function expectCleanStore(store: string): Promise<void> {
  const fsck = await runTzbuild(['system', 'fsck'], { env: { TZBUILD_ROOT: store } });
  expect(fsck.stdout).toContain('fsck: 0 problems found');
  const images = await runTzbuild(['images'], { env: { TZBUILD_ROOT: store } });
  expect(images.stdout.trim().split('\n')).toHaveLength(1);
}

beforeAll(async () => {
  // busybox:latest in the local store, pushed to the registry as Docker Hub's library/busybox.
  const seed = await tempStore();
  const archive = await makeBusyboxDockerArchive(path.join(await tempDir('tzb-from-'), 'busybox.tar'));
  const env = { TZBUILD_ROOT: seed };
  expect((await runTzbuild(['load', archive], { env })).exitCode).toBe(0);
  for (const name of ['library/busybox:latest', 'team/tool:1', 'library/armonly:image']) {
    const destination = `${registry().host}/${name}`;
    expect((await runTzbuild(['tag', 'busybox:latest', destination], { env })).exitCode).toBe(0);
    expect((await runTzbuild(['push', '-q', destination], { env })).exitCode).toBe(0);
  }
  proxy = await startProxy(registry().host);
});

describe('FROM a Docker Hub name', () => {
  it('pulls it through the mirror, shows the layer bytes, and a rebuild uses the store', async () => {
    const store = await storeWithMirror(proxy.host);
    const dir = await context('FROM busybox\nRUN echo hi > /hi\n');
    const first = await build(store, dir, '-t', 'app:1');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^#1 sha256:[0-9a-f]{12} [0-9.]+[kM]?B done$/m);
    expect(first.stderr).toMatch(/^#1 \| resolved to sha256:[0-9a-f]{64}$/m);
    const images = await runTzbuild(['images'], { env: { TZBUILD_ROOT: store } });
    expect(images.stdout).toContain('docker.io/library/busybox');
    proxy.requests.length = 0;
    const again = await build(store, dir, '-t', 'app:1');
    expect(again.stderr).toContain('1 cached, 0 run');
    expect(proxy.requests).toEqual([]);
  });

  it('--pull asks the registry again, --pull=never builds offline and refuses a missing base', async () => {
    const store = await storeWithMirror(proxy.host);
    const dir = await context('FROM busybox\nCMD ["sh"]\n');
    expect((await build(store, dir)).exitCode).toBe(0);
    proxy.requests.length = 0;
    expect((await build(store, dir, '--pull')).exitCode).toBe(0);
    expect(proxy.requests.some((request) => request.url.includes('/manifests/latest'))).toBe(true);
    proxy.requests.length = 0;
    expect((await build(store, dir, '--pull=never')).exitCode).toBe(0);
    expect(proxy.requests).toEqual([]);
    const missing = await build(store, await context('FROM team/tool:1\n'), '--pull=never');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(
      'Dockerfile:1: image "team/tool:1" is not in the store and --pull=never forbids pulling it ' +
        '(bring it in with `tzbuild pull team/tool:1` or `tzbuild load FILE`)',
    );
  });

  it('falls through a dead mirror to the next, saying so in one line', async () => {
    const store = await storeWithMirror(`127.0.0.1:${await freePort()}`, proxy.host);
    const result = await build(store, await context('FROM team/tool:1\n'));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^#1 \| mirror 127\.0\.0\.1:\d+ failed \(.*\); trying 127\.0\.0\.1:\d+$/m);
  });
});

describe('FROM a base that cannot be pulled', () => {
  const cases: [string, () => Promise<{ store: string; dockerfile: string; message: RegExp }>][] = [
    [
      'a registry that is down',
      async () => ({
        store: await storeWithMirror(`127.0.0.1:${await freePort()}`),
        dockerfile: 'FROM busybox\n',
        message: /^error: .*Dockerfile:1: busybox: registry 127\.0\.0\.1:\d+: .+$/,
      }),
    ],
    [
      'a name that does not exist',
      async () => ({
        store: await storeWithMirror(proxy.host),
        dockerfile: 'FROM no-such-image:1\n',
        message:
          /^error: .*Dockerfile:1: no-such-image:1: registry [\d.:]+: manifest library\/no-such-image:1: not found$/,
      }),
    ],
    [
      'a digest the registry does not have',
      async () => ({
        store: await storeWithMirror(proxy.host),
        dockerfile: `FROM busybox@sha256:${'0'.repeat(64)}\n`,
        message: /^error: .*Dockerfile:1: busybox@sha256:0{64}: registry [\d.:]+: manifest .*@sha256:0{64}: not found$/,
      }),
    ],
    [
      'no mirror and no Docker Hub',
      async () => ({
        store: await storeWithMirror(),
        dockerfile: 'FROM busybox\n',
        message:
          /^error: .*Dockerfile:1: busybox: docker\.io\/library\/busybox:latest: no registry mirror is configured/,
      }),
    ],
  ];

  for (const [name, make] of cases) {
    it(`${name}: one line naming the FROM line and the reference, exit 1, nothing half-written`, async () => {
      const { store, dockerfile, message } = await make();
      const result = await build(store, await context(dockerfile));
      expect(result.exitCode).toBe(1);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('error: '));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      await expectCleanStore(store);
    });
  }

  it('an index with no image for this platform names the platforms it has', async () => {
    const store = await storeWithMirror(proxy.host);
    const api = `http://${registry().host}/v2/library`;
    const manifestType = 'application/vnd.oci.image.manifest.v1+json';
    // busybox's manifest (pushed as armonly:image), listed in an index as an arm64 image only.
    const image = await fetch(`${api}/armonly/manifests/image`, { headers: { Accept: manifestType } });
    const size = (await image.arrayBuffer()).byteLength;
    const digest = image.headers.get('docker-content-digest') ?? '';
    const mediaType = image.headers.get('content-type') ?? manifestType;
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType, digest, size, platform: { os: 'linux', architecture: 'arm64' } }],
    };
    const put = await fetch(`${api}/armonly/manifests/1`, {
      method: 'PUT',
      headers: { 'Content-Type': index.mediaType },
      body: JSON.stringify(index),
    });
    expect(put.status).toBe(201);
    const result = await build(store, await context('FROM armonly:1\n'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^error: .*Dockerfile:1: armonly:1: .*has no image for linux\/amd64 \(it has: linux\/arm64\)$/m,
    );
    await expectCleanStore(store);
  });

  it('a manifest that lies about its digest is refused, and the next build pulls cleanly', async () => {
    const store = await storeWithMirror(proxy.host);
    proxy.setHook(async ({ req, res, forward }) => {
      if (!req.url?.includes('/blobs/') || req.method !== 'GET') return false;
      const upstream = await forward();
      const chunks: Buffer[] = [];
      for await (const chunk of upstream) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (body.length > 100) body.writeUInt8(body.readUInt8(body.length - 1) ^ 0xff, body.length - 1);
      res.writeHead(upstream.statusCode ?? 500, upstream.headers);
      res.end(body);
      return true;
    });
    const dir = await context('FROM team/tool:1\n');
    const broken = await build(store, dir);
    proxy.setHook(undefined);
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toMatch(/^error: .*Dockerfile:1: team\/tool:1: registry 127\.0\.0\.1:\d+: .*digest/m);
    await expectCleanStore(store);
    const fixed = await build(store, dir);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
  });

  it('an auth failure names the registry, never the password', async () => {
    const store = await storeWithMirror(proxy.host);
    proxy.setHook(async ({ req, res }) => {
      if (!req.url?.startsWith('/v2/')) return false;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' });
      res.end();
      return true;
    });
    const result = await build(store, await context('FROM busybox\n'));
    proxy.setHook(undefined);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^error: .*Dockerfile:1: busybox: registry 127\.0\.0\.1:\d+: .*authentication required/m,
    );
    await expectCleanStore(store);
  });
});
