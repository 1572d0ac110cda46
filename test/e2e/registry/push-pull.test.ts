/** Push and pull against a real docker-registry (no auth), watched through a counting proxy. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../../store/images.js';
import { MediaType } from '../../../core/oci.js';
import { RegistryClient } from '../../../registry/client.js';
import { pullImage } from '../../../registry/pull.js';
import { pushImage } from '../../../registry/push.js';
import { RegistryImageSource } from '../../../registry/image-source.js';
import { StoreImageSource } from '../../../archive/store-image-source.js';
import { sha256Digest } from '../../../core/digest.js';
import type { OpenedStore } from '../../../store/store.js';
import { buildTestImage, emptyStore, expectSameImage } from './fixtures.js';
import { startProxy, uploadRequests, type TestProxy } from './proxy.js';
import { useRegistry } from './registry-server.js';

const registry = useRegistry();
let proxy: TestProxy;
let source: OpenedStore;

beforeAll(async () => {
  proxy = await startProxy(registry().host);
  source = await emptyStore();
  await buildTestImage(source.root, 'app:1', 'one');
  await buildTestImage(source.root, 'app:2', 'two');
});

afterAll(async () => {
  await proxy?.close();
});

describe('push then pull', () => {
  it('gives the same image ID and identical layers in an empty store', async () => {
    const pushed = await pushImage(source, 'app:1', { destination: `${proxy.host}/team/app:1` });
    expect(pushed.uploaded).toBe(3);
    expect(pushed.compressed).toBe(2);
    const target = await emptyStore();
    const pulled = await pullImage(target, `${proxy.host}/team/app:1`);
    expect(pulled.name).toBe(`${proxy.host}/team/app:1`);
    expect(pulled.registryDigest).toBe(pushed.digest);
    expect(pulled.downloaded).toBe(2);
    await expectSameImage(
      { store: source, image: await resolveImage(source, 'app:1') },
      { store: target, image: pulled.image },
    );
    expect((await resolveImage(target, `${proxy.host}/team/app:1`)).configDigest).toBe(pulled.image.configDigest);
  });

  it('a second push compresses and uploads nothing', async () => {
    await pushImage(source, 'app:1', { destination: `${proxy.host}/again/app:1` });
    proxy.requests.length = 0;
    const second = await pushImage(source, 'app:1', { destination: `${proxy.host}/again/app:1` });
    expect(second).toMatchObject({ uploaded: 0, mounted: 0, existing: 3, compressed: 0 });
    expect(uploadRequests(proxy.requests)).toEqual([]);
    expect(proxy.requests.filter((r) => r.method === 'HEAD')).toHaveLength(3);
    expect(proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/'))).toHaveLength(1);
  });

  it('mounts blobs from another repository of the same registry instead of uploading them', async () => {
    await pushImage(source, 'app:1', { destination: `${proxy.host}/first/app:1` });
    proxy.requests.length = 0;
    const other = await pushImage(source, 'app:1', { destination: `${proxy.host}/second/app:1` });
    expect(other).toMatchObject({ uploaded: 0, mounted: 3, compressed: 0 });
    const uploads = uploadRequests(proxy.requests);
    expect(uploads.length).toBe(3);
    expect(uploads.every((r) => r.method === 'POST' && r.url.includes('mount=') && r.url.includes('from='))).toBe(true);
    const pulled = await pullImage(await emptyStore(), `${proxy.host}/second/app:1`);
    expect(pulled.image.configDigest).toBe((await resolveImage(source, 'app:1')).configDigest);
  });

  it('pulls only the layers the store lacks', async () => {
    await pushImage(source, 'app:2', { destination: `${proxy.host}/team/app:2` });
    const target = await emptyStore();
    await pullImage(target, `${proxy.host}/team/app:1`);
    proxy.requests.length = 0;
    const second = await pullImage(target, `${proxy.host}/team/app:2`);
    // app:2 shares the big layer with app:1; only its small first layer comes over.
    expect(second.downloaded).toBe(1);
    const blobGets = proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
    expect(blobGets).toHaveLength(2); // the config and one layer
  });

  it('uploads big blobs with a streamed PATCH and small ones in one PUT', async () => {
    const store = await emptyStore();
    await buildTestImage(store.root, 'chunky:1', 'chunky');
    proxy.requests.length = 0;
    await pushImage(store, 'chunky:1', { destination: `${proxy.host}/chunky/app:1`, monolithicMaxBytes: 1024 * 1024 });
    const patches = proxy.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(Number(patches[0]?.headers['content-length'])).toBeGreaterThan(3 * 1024 * 1024);
    const pulled = await pullImage(await emptyStore(), `${proxy.host}/chunky/app:1`);
    expect(pulled.image.configDigest).toBe((await resolveImage(store, 'chunky:1')).configDigest);
  });

  it('pushes zstd layers and pulls them back', async () => {
    const pushed = await pushImage(source, 'app:1', {
      destination: `${proxy.host}/zstd/app:1`,
      compression: 'zstd',
      compressionLevel: 5,
    });
    const client = new RegistryClient(proxy.host);
    try {
      const manifest = JSON.parse((await client.getManifest('zstd/app', '1')).bytes.toString('utf8')) as {
        layers: { mediaType: string }[];
      };
      expect(manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayerZstd, MediaType.ociLayerZstd]);
    } finally {
      client.close();
    }
    const pulled = await pullImage(await emptyStore(), `${proxy.host}/zstd/app@${pushed.digest}`);
    expect(pulled.name).toBe(`${proxy.host}/zstd/app@${pushed.digest}`);
    expect(pulled.image.configDigest).toBe((await resolveImage(source, 'app:1')).configDigest);
  });

  it('pushes Docker schema 2 manifests with --format docker', async () => {
    const pushed = await pushImage(source, 'app:1', { destination: `${proxy.host}/docker/app:1`, format: 'docker' });
    const client = new RegistryClient(proxy.host);
    try {
      const { bytes, mediaType } = await client.getManifest('docker/app', '1');
      expect(mediaType).toBe(MediaType.dockerManifest);
      expect(sha256Digest(bytes)).toBe(pushed.digest);
      const manifest = JSON.parse(bytes.toString('utf8')) as {
        config: { mediaType: string };
        layers: { mediaType: string }[];
      };
      expect(manifest.config.mediaType).toBe(MediaType.dockerConfig);
      expect(new Set(manifest.layers.map((l) => l.mediaType))).toEqual(new Set([MediaType.dockerLayerGzip]));
    } finally {
      client.close();
    }
    const pulled = await pullImage(await emptyStore(), `${proxy.host}/docker/app:1`);
    expect(pulled.image.configDigest).toBe((await resolveImage(source, 'app:1')).configDigest);
  });

  it('follows an OCI index to the platform asked for', async () => {
    const amd = await pushImage(source, 'app:1', { destination: `${proxy.host}/multi/app:amd64` });
    const arm = await pushImage(source, 'app:2', { destination: `${proxy.host}/multi/app:arm64` });
    const client = new RegistryClient(proxy.host);
    const entry = async (tag: string, digest: string, architecture: string) => ({
      mediaType: MediaType.ociManifest,
      digest,
      size: (await client.getManifest('multi/app', tag)).bytes.length,
      platform: { os: 'linux', architecture },
    });
    try {
      const index = {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [await entry('arm64', arm.digest, 'arm64'), await entry('amd64', amd.digest, 'amd64')],
      };
      await client.putManifest('multi/app', 'both', MediaType.ociIndex, Buffer.from(JSON.stringify(index)));
    } finally {
      client.close();
    }
    const amdImage = await pullImage(await emptyStore(), `${proxy.host}/multi/app:both`, {
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const armImage = await pullImage(await emptyStore(), `${proxy.host}/multi/app:both`, {
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(amdImage.image.configDigest).toBe((await resolveImage(source, 'app:1')).configDigest);
    expect(armImage.image.configDigest).toBe((await resolveImage(source, 'app:2')).configDigest);
    await expect(
      pullImage(await emptyStore(), `${proxy.host}/multi/app:both`, {
        platform: { os: 'linux', architecture: 's390x' },
      }),
    ).rejects.toThrow(/has no image for linux\/s390x \(it has: linux\/arm64, linux\/amd64\)/);
  });

  it('reports a missing tag clearly', async () => {
    await expect(pullImage(await emptyStore(), `${proxy.host}/team/app:nope`)).rejects.toThrow(
      `registry ${proxy.host}: manifest team/app:nope: not found`,
    );
  });
});

describe('RegistryImageSource', () => {
  const noHub = async () => ({ mirrors: [], insecure: [], hubFallback: false });
  const through =
    (...mirrors: string[]) =>
    async () => ({ mirrors, insecure: [], hubFallback: false });

  it('uses the store first, pulls a missing image once, and asks no registry it may not', async () => {
    await pushImage(source, 'app:1', { destination: `${proxy.host}/src/app:1` });
    const store = await emptyStore();
    const images = new RegistryImageSource(new StoreImageSource(store), store, { settings: noHub });
    proxy.requests.length = 0;
    const [first, second] = await Promise.all([
      images.resolve(`${proxy.host}/src/app:1`),
      images.resolve(`${proxy.host}/src/app:1`),
    ]);
    expect(first.configDigest).toBe((await resolveImage(source, 'app:1')).configDigest);
    expect(second.configDigest).toBe(first.configDigest);
    expect(first.registryDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const manifestGets = proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/manifests/'));
    expect(manifestGets).toHaveLength(1);
    proxy.requests.length = 0;
    expect((await images.resolve(`${proxy.host}/src/app:1`)).registryDigest).toBe(first.registryDigest);
    expect(proxy.requests).toEqual([]);
    // A Docker Hub name with no mirror and hub-fallback false: nobody to ask, and nobody asked.
    await expect(images.resolve('app:1')).rejects.toMatchObject({ code: 'REGISTRY_NO_ENDPOINT' });
    expect(proxy.requests).toEqual([]);
  });

  it('pulls Docker Hub names through the mirrors in order, tagged under their docker.io name', async () => {
    await pushImage(source, 'app:1', { destination: `${proxy.host}/library/hubname:2` });
    const store = await emptyStore();
    const dead = await closedPort();
    const images = new RegistryImageSource(new StoreImageSource(store), store, {
      settings: through(`http://127.0.0.1:${dead}`, `http://${proxy.host}`),
      attempts: 1,
    });
    const notices: string[] = [];
    const progress: string[] = [];
    const image = await images.resolve('hubname:2', {
      onNotice: (line) => notices.push(line),
      onProgress: (layer) => progress.push(layer.phase),
    });
    expect(image.configDigest).toBe((await resolveImage(source, 'app:1')).configDigest);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(new RegExp(`^mirror 127\\.0\\.0\\.1:${dead} failed \\(.*\\); trying ${proxy.host}$`));
    expect(progress).toContain('done');
    expect((await resolveImage(store, 'docker.io/library/hubname:2')).configDigest).toBe(image.configDigest);
    // In the store now: `hubname:2` resolves without the network, --pull=never included.
    proxy.requests.length = 0;
    expect((await images.resolve('hubname:2', { pull: 'never' })).configDigest).toBe(image.configDigest);
    expect(proxy.requests).toEqual([]);
  });

  it('--pull=never refuses a missing base and says how to bring it in; always asks again', async () => {
    await pushImage(source, 'app:1', { destination: `${proxy.host}/library/pulled:3` });
    const store = await emptyStore();
    const images = new RegistryImageSource(new StoreImageSource(store), store, {
      settings: through(`http://${proxy.host}`),
    });
    await expect(images.resolve('pulled:3', { pull: 'never' })).rejects.toThrow(
      'image "pulled:3" is not in the store and --pull=never forbids pulling it ' +
        '(bring it in with `tzbuild pull pulled:3` or `tzbuild load FILE`)',
    );
    const first = await images.resolve('pulled:3');
    proxy.requests.length = 0;
    const again = await images.resolve('pulled:3', { pull: 'always' });
    expect(again.registryDigest).toBe(first.registryDigest);
    // Asked for the manifest again; of the blobs only the config was read, no layer downloaded again.
    expect(proxy.requests.some((r) => r.url.includes('/manifests/'))).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'))).toHaveLength(1);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
