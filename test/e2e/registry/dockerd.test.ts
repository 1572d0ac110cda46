/**
 * The real check of a push: a real dockerd (Debian's docker.io, private data root and socket, no
 * bridge, no iptables) pulls what tzbuild pushed and reports the same image ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../../store/images.js';
import { pushImage } from '../../../registry/push.js';
import type { OpenedStore } from '../../../store/store.js';
import { type PrivateDockerd, startDockerd } from '../../helpers/dockerd.js';
import { buildTestImage, emptyStore } from './fixtures.js';
import { useRegistry } from './registry-server.js';

const registry = useRegistry();
let dockerd: PrivateDockerd | undefined;
let source: OpenedStore;

const docker = (...args: string[]) => dockerd!.docker(args);

beforeAll(async () => {
  dockerd = await startDockerd(['--insecure-registry', registry().host]);
  source = await emptyStore();
  await buildTestImage(source.root, 'app:1', 'dockerd', 256 * 1024);
}, 120_000);

afterAll(async () => {
  await dockerd?.stop();
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
