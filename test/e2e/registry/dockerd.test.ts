/**
 * The real check of a push: a real dockerd (Debian's docker.io, private data root and socket, no
 * bridge, no iptables) pulls what tzbuild pushed and reports the same image ID.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../../store/images.js';
import { pushImage } from '../../../registry/push.js';
import type { OpenedStore } from '../../../store/store.js';
import { buildTestImage, emptyStore, tempDir } from './fixtures.js';
import { useRegistry } from './registry-server.js';

const registry = useRegistry();
const dockerCli = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
let daemon: ResultPromise | undefined;
let dir: string;
let source: OpenedStore;

const docker = (...args: string[]) => execa(dockerCli, ['-H', `unix://${dir}/docker.sock`, ...args], { reject: false });

async function stopDaemon(): Promise<void> {
  if (daemon === undefined) return;
  if (daemon.exitCode === null) daemon.kill('SIGTERM');
  const killer = setTimeout(() => daemon?.kill('SIGKILL'), 20_000);
  await daemon;
  clearTimeout(killer);
  // dockerd can leave mounts under its roots when it stops hard.
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir))
    .sort()
    .reverse();
  for (const mount of mounts) await execa('umount', ['-l', mount], { reject: false });
}

beforeAll(async () => {
  dir = await tempDir('tzb-dockerd-');
  await mkdir(path.join(dir, 'data'));
  daemon = execa(
    'dockerd',
    [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      '--ip-forward=false',
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'dockerd.pid'),
      '--host',
      `unix://${dir}/docker.sock`,
      '--insecure-registry',
      registry().host,
    ],
    { reject: false, stdout: 'ignore', stderr: 'ignore' },
  );
  for (let i = 0; i < 200 && daemon.exitCode === null; i++) {
    if ((await docker('version')).exitCode === 0) break;
    await sleep(250);
  }
  if ((await docker('version')).exitCode !== 0) throw new Error('dockerd did not start');
  source = await emptyStore();
  await buildTestImage(source.root, 'app:1', 'dockerd', 256 * 1024);
}, 120_000);

afterAll(async () => {
  await stopDaemon();
  if (dir !== undefined) await rm(path.join(dir, 'data'), { recursive: true, force: true });
}, 60_000);

describe('docker pull of what tzbuild pushed', () => {
  it.each(['oci', 'docker'] as const)('%s manifest: same image ID', async (format) => {
    const name = `${registry().host}/dk/app:${format}`;
    await pushImage(source, 'app:1', { destination: name, format });
    const pulled = await docker('pull', name);
    expect(pulled.stderr).toBe('');
    expect(pulled.exitCode).toBe(0);
    const id = (await docker('image', 'inspect', '--format', '{{.Id}}', name)).stdout.trim();
    expect(id).toBe((await resolveImage(source, 'app:1')).configDigest);
    const layers = (await docker('image', 'inspect', '--format', '{{json .RootFS.Layers}}', name)).stdout.trim();
    expect(JSON.parse(layers)).toEqual((await resolveImage(source, 'app:1')).layers.map((l) => l.diffId));
  });
});
