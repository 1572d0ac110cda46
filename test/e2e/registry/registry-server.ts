/**
 * A real registry for tests: Debian's `docker-registry serve CONFIG` on a free 127.0.0.1 port with
 * its storage in a temp dir, optionally behind htpasswd basic auth. Installs docker-registry and
 * apache2-utils (htpasswd) with apt-get when missing. `useRegistry()` starts one for a test file
 * and stops it (and removes its storage) after the file's tests.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll } from 'vitest';

/** A running registry. */
export interface RegistryServer {
  /** `127.0.0.1:PORT`, the registry name to push to. */
  host: string;
  port: number;
  /** Its storage and config directory. */
  dir: string;
  /** The user the registry accepts, when started with auth. */
  auth?: { username: string; password: string };
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}. */
export interface RegistryServerOptions {
  /** Require HTTP basic auth with this user (htpasswd, bcrypt). */
  auth?: { username: string; password: string };
}

async function ensureTools(): Promise<void> {
  const missing = [
    ['/usr/bin/docker-registry', 'docker-registry'],
    ['/usr/bin/htpasswd', 'apache2-utils'],
  ]
    .filter(([bin]) => !existsSync(bin as string))
    .map(([, pkg]) => pkg as string);
  if (missing.length === 0) return;
  const install = () =>
    execa('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      reject: false,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
  if ((await install()).exitCode !== 0) {
    await execa('apt-get', ['update', '-qq']);
    await execa('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configYaml(dir: string, port: number, htpasswd?: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dir}/data`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: tzbuild-test-secret',
    ...(htpasswd ? ['auth:', '  htpasswd:', '    realm: tzbuild-test', `    path: ${htpasswd}`] : []),
    '',
  ].join('\n');
}

/** Starts a registry; resolves once `/v2/` answers. */
export async function startRegistry(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  await ensureTools();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzb-registry-'));
  let htpasswd: string | undefined;
  if (options.auth) {
    htpasswd = path.join(dir, 'htpasswd');
    await execa('htpasswd', ['-Bbc', htpasswd, options.auth.username, options.auth.password]);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    await writeFile(config, configYaml(dir, port, htpasswd));
    const child = execa('docker-registry', ['serve', config], { reject: false, stdout: 'ignore', stderr: 'pipe' });
    if (await answers(port, child)) {
      return {
        host: `127.0.0.1:${port}`,
        port,
        dir,
        ...(options.auth ? { auth: options.auth } : {}),
        stop: () => stop(child, dir),
      };
    }
    await stop(child, undefined);
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error('docker-registry did not start');
}

async function answers(port: number, child: ResultPromise): Promise<boolean> {
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    const status = await new Promise<number>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/v2/' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) return true;
    await sleep(100);
  }
  return false;
}

async function stop(child: ResultPromise, dir: string | undefined): Promise<void> {
  if (child.exitCode === null) child.kill('SIGTERM');
  await child;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Starts a registry before the file's tests and stops it after; call at the top of a test file. */
export function useRegistry(options: RegistryServerOptions = {}): () => RegistryServer {
  let server: RegistryServer | undefined;
  beforeAll(async () => {
    server = await startRegistry(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error('registry not started');
    return server;
  };
}
