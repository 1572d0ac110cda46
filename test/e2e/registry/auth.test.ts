/**
 * Authentication against a real docker-registry with htpasswd (basic auth), and bearer tokens
 * through a token-gate proxy in front of it: credentials from config.json, from a credential
 * helper on PATH, refused or missing; and never sent to another host on a redirect.
 */
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../../store/images.js';
import { pullImage } from '../../../registry/pull.js';
import { pushImage } from '../../../registry/push.js';
import type { OpenedStore } from '../../../store/store.js';
import { buildTestImage, emptyStore, tempDir } from './fixtures.js';
import { blobGetDigest, readAll, startProxy, type TestProxy } from './proxy.js';
import { useRegistry } from './registry-server.js';
import { fixturesDir } from '../../helpers/paths.js';

const user = { username: 'tester', password: 's3cret-pa55' };
const registry = useRegistry({ auth: user });
const basic = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
let source: OpenedStore;
let imageId: string;

/** A DOCKER_CONFIG dir whose config.json is `config`. */
async function dockerConfig(config: object): Promise<string> {
  const dir = await tempDir('tzb-docker-config-');
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const authsFor = (host: string, password = user.password) => ({
  auths: { [host]: { auth: Buffer.from(`${user.username}:${password}`).toString('base64') } },
});

beforeAll(async () => {
  source = await emptyStore();
  await buildTestImage(source.root, 'app:1', 'auth', 256 * 1024);
  imageId = (await resolveImage(source, 'app:1')).configDigest;
});

describe('basic auth (htpasswd)', () => {
  it('without credentials, says to log in', async () => {
    const error = await pushImage(source, 'app:1', {
      destination: `${registry().host}/b/app:1`,
      configDir: await dockerConfig({}),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
    expect(String(error)).toContain(`authentication required (run \`tzbuild login ${registry().host}\`)`);
  });

  it('uses credentials from config.json for push and pull', async () => {
    const configDir = await dockerConfig(authsFor(registry().host));
    await pushImage(source, 'app:1', { destination: `${registry().host}/b/app:1`, configDir });
    const pulled = await pullImage(await emptyStore(), `${registry().host}/b/app:1`, { configDir });
    expect(pulled.image.configDigest).toBe(imageId);
  });

  it('reports refused credentials without printing them', async () => {
    const configDir = await dockerConfig(authsFor(registry().host, 'wrong-password'));
    const error = await pullImage(await emptyStore(), `${registry().host}/b/app:1`, { configDir }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
    expect(String(error)).toContain('the credentials were refused');
    expect(String(error)).not.toContain('wrong-password');
  });

  it('uses a credential helper (credsStore, then credHelpers) from PATH', async () => {
    const bin = await tempDir('tzb-cred-helper-');
    const log = path.join(bin, 'calls.log');
    await copyFile(path.join(fixturesDir, 'docker-credential-fixed.sh'), path.join(bin, 'docker-credential-test'));
    await chmod(path.join(bin, 'docker-credential-test'), 0o755);
    await writeFile(path.join(bin, 'server'), `${registry().host}\n`);
    const reply = { ServerURL: 'SERVER', Username: user.username, Secret: user.password };
    await writeFile(path.join(bin, 'reply.json'), JSON.stringify(reply));
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      const viaStore = await dockerConfig({ credsStore: 'test' });
      await pushImage(source, 'app:1', { destination: `${registry().host}/helper/app:1`, configDir: viaStore });
      const viaHelpers = await dockerConfig({ credHelpers: { [registry().host]: 'test' } });
      const pulled = await pullImage(await emptyStore(), `${registry().host}/helper/app:1`, { configDir: viaHelpers });
      expect(pulled.image.configDigest).toBe(imageId);
    } finally {
      process.env.PATH = savedPath;
    }
    // Asked once per client (push, pull), with the registry as the server URL.
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([
      `get ${registry().host}`,
      `get ${registry().host}`,
    ]);
  });

  it('does not send the Authorization header on a redirect to another host', async () => {
    const configDir = await dockerConfig(authsFor(registry().host));
    await pushImage(source, 'app:1', { destination: `${registry().host}/redirect/app:1`, configDir });
    // A "blob storage" host: serves blobs it fetches from the registry with its own credentials.
    const seenByStorage: http.IncomingHttpHeaders[] = [];
    const storage = http.createServer((req, res) => {
      seenByStorage.push(req.headers);
      http.get(
        `http://${registry().host}/v2/redirect/app${req.url ?? ''}`,
        { headers: { Authorization: basic } },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, { 'Content-Length': upstream.headers['content-length'] ?? '0' });
          upstream.pipe(res);
        },
      );
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const storagePort = (storage.address() as net.AddressInfo).port;
    const proxy = await startProxy(registry().host, ({ req, res }) => {
      const digest = blobGetDigest(req);
      if (digest === undefined) return false;
      res.writeHead(307, { Location: `http://localhost:${storagePort}/blobs/${digest}` });
      res.end();
      return true;
    });
    try {
      const pulled = await pullImage(await emptyStore(), `${proxy.host}/redirect/app:1`, {
        configDir: await dockerConfig(authsFor(proxy.host)),
      });
      expect(pulled.image.configDigest).toBe(imageId);
      const blobRequests = proxy.requests.filter((r) => r.url.includes('/blobs/'));
      expect(blobRequests.length).toBeGreaterThanOrEqual(2);
      expect(blobRequests.every((r) => r.headers.authorization === basic)).toBe(true);
      expect(seenByStorage.length).toBe(blobRequests.length);
      expect(seenByStorage.map((h) => h.authorization)).toEqual(seenByStorage.map(() => undefined));
    } finally {
      await proxy.close();
      storage.closeAllConnections();
      await new Promise<void>((resolve) => storage.close(() => resolve()));
    }
  });
});

describe('bearer tokens (token endpoint in front of the registry)', () => {
  let gate: TestProxy;
  const tokenRequests: { authorization?: string; scopes: string[]; service: string | null }[] = [];

  beforeAll(async () => {
    // Anonymous tokens may pull; the tester's token may also push. The gate speaks basic auth upstream.
    gate = await startProxy(registry().host, async ({ req, res, forward }) => {
      const url = new URL(req.url ?? '/', 'http://gate');
      if (url.pathname === '/token') {
        tokenRequests.push({
          authorization: req.headers.authorization,
          scopes: url.searchParams.getAll('scope'),
          service: url.searchParams.get('service'),
        });
        if (req.headers.authorization !== undefined && req.headers.authorization !== basic) {
          res.writeHead(401).end();
          return true;
        }
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ token: req.headers.authorization ? 'full-token' : 'pull-token', expires_in: 300 }));
        return true;
      }
      const token = req.headers.authorization;
      const reading = req.method === 'GET' || req.method === 'HEAD';
      if (token !== 'Bearer full-token' && !(reading && token === 'Bearer pull-token')) {
        const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1];
        const scope = repo ? `,scope="repository:${repo}:${reading ? 'pull' : 'pull,push'}"` : '';
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://${gate.host}/token",service="gate.test"${scope}`,
          'Content-Type': 'application/json',
        });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token required' }] }));
        return true;
      }
      const upstream = await forward({ ...req.headers, authorization: basic });
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      res.end(await readAll(upstream));
      return true;
    });
  });

  afterAll(async () => {
    await gate?.close();
  });

  it('gets a token with the credentials for push, and an anonymous one for pull', async () => {
    await pushImage(source, 'app:1', {
      destination: `${gate.host}/bearer/app:1`,
      configDir: await dockerConfig(authsFor(gate.host)),
    });
    const credentialed = tokenRequests.filter((t) => t.authorization === basic);
    expect(credentialed.length).toBeGreaterThan(0);
    expect(credentialed[0]).toMatchObject({ service: 'gate.test', scopes: ['repository:bearer/app:pull,push'] });
    tokenRequests.length = 0;
    const pulled = await pullImage(await emptyStore(), `${gate.host}/bearer/app:1`, {
      configDir: await dockerConfig({}),
    });
    expect(pulled.image.configDigest).toBe(imageId);
    // One token for the repository, reused for the manifest, the config and the layers.
    expect(tokenRequests).toEqual([
      { authorization: undefined, scopes: ['repository:bearer/app:pull'], service: 'gate.test' },
    ]);
  });

  it('an anonymous token cannot push: the error says to log in', async () => {
    const error = await pushImage(source, 'app:1', {
      destination: `${gate.host}/bearer/app:2`,
      configDir: await dockerConfig({}),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
    expect(String(error)).toContain(`run \`tzbuild login ${gate.host}\``);
  });

  it('refused credentials at the token endpoint are a clear error', async () => {
    const error = await pullImage(await emptyStore(), `${gate.host}/bearer/app:1`, {
      configDir: await dockerConfig(authsFor(gate.host, 'nope')),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
    expect(String(error)).toContain(`registry ${gate.host}: credentials for tester were refused`);
  });
});

describe('config dir', () => {
  it('without a config.json means no credentials', async () => {
    const dir = path.join(await tempDir(), 'missing');
    await mkdir(dir);
    const error = await pullImage(await emptyStore(), `${registry().host}/b/app:1`, { configDir: dir }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
  });
});
