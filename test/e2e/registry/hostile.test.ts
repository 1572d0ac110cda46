/**
 * Registries that lie, break, stall or flood: every case is a clear RegistryError naming the
 * registry and the object, bounded in time, and leaves nothing half-written in the store.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../../store/images.js';
import { MediaType, type Descriptor, type Digest } from '../../../core/oci.js';
import { sha256Digest } from '../../../core/digest.js';
import { RegistryError } from '../../../registry/errors.js';
import { checkStore } from '../../../store/fsck.js';
import { describe as describeBlob, imageParts, manifestObject } from '../../helpers/oci-layout.js';
import { RegistryClient } from '../../../registry/client.js';
import { pullImage, type PullOptions } from '../../../registry/pull.js';
import { pushImage } from '../../../registry/push.js';
import type { OpenedStore } from '../../../store/store.js';
import { buildTestImage, emptyStore } from './fixtures.js';
import { blobGetDigest, readAll, startProxy, type TestProxy } from './proxy.js';
import { useRegistry } from './registry-server.js';

const registry = useRegistry();
let proxy: TestProxy;
let source: OpenedStore;
let layers: { digest: Digest; size: number; diffId: Digest }[];
let configDigest: Digest;
let manifestDigest: Digest;

/** Fast retries so the bounded-retry cases take milliseconds. */
const fast: PullOptions = { retryDelayMs: 5, attempts: 3 };

beforeAll(async () => {
  source = await emptyStore();
  await buildTestImage(source.root, 'app:1', 'hostile', 1024 * 1024);
  const pushed = await pushImage(source, 'app:1', { destination: `${registry().host}/h/app:1` });
  manifestDigest = pushed.digest;
  const client = new RegistryClient(registry().host);
  try {
    const manifest = JSON.parse((await client.getManifest('h/app', '1')).bytes.toString('utf8')) as {
      config: { digest: Digest };
      layers: { digest: Digest; size: number }[];
    };
    const image = await resolveImage(source, 'app:1');
    configDigest = manifest.config.digest;
    layers = manifest.layers.map((l, i) => ({ ...l, diffId: image.layers[i]?.diffId as Digest }));
  } finally {
    client.close();
  }
  proxy = await startProxy(registry().host);
});

afterEach(() => {
  proxy.setHook(undefined);
  proxy.requests.length = 0;
});

afterAll(async () => {
  await proxy?.close();
});

const bigLayer = () => layers[1] as { digest: Digest; size: number; diffId: Digest };

/** Nothing of the failed layer in blobs/, and no leftovers in ingest/. */
async function expectNothingPartial(store: OpenedStore): Promise<void> {
  expect(await store.content.has(bigLayer().diffId)).toBe(false);
  expect(await readdir(path.join(store.root, 'ingest'))).toEqual([]);
}

/** Serves `body` instead of the registry's bytes for GETs of `digest`. */
function replaceBlob(digest: Digest, body: (original: Buffer) => Buffer) {
  proxy.setHook(async ({ req, res, forward }) => {
    if (blobGetDigest(req) !== digest) return false;
    const upstream = await forward();
    const replaced = body(await readAll(upstream));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': replaced.length });
    res.end(replaced);
    return true;
  });
}

describe('a registry that lies', () => {
  it('a layer with other bytes but the right content (a changed gzip header) is refused', async () => {
    replaceBlob(bigLayer().digest, (original) => {
      // The gzip MTIME field: the stream still inflates to the right layer, but the blob differs.
      const copy = Buffer.from(original);
      copy[4] = (copy[4] ?? 0) ^ 0x01;
      expect(gunzipSync(copy).equals(gunzipSync(original))).toBe(true);
      return copy;
    });
    const store = await emptyStore();
    const error = await pullImage(store, `${proxy.host}/h/app:1`, fast).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_DIGEST_MISMATCH' });
    expect(String(error)).toContain(
      `registry ${proxy.host}: layer ${bigLayer().digest} of h/app: content does not match its digest`,
    );
    await expectNothingPartial(store);
  });

  it('a flipped byte is refused', async () => {
    replaceBlob(bigLayer().digest, (original) => {
      const copy = Buffer.from(original);
      copy[copy.length >> 1] = (copy[copy.length >> 1] ?? 0) ^ 0xff;
      return copy;
    });
    const store = await emptyStore();
    const error = await pullImage(store, `${proxy.host}/h/app:1`, fast).catch((e: unknown) => e);
    expect((error as { code: string }).code).toMatch(/^REGISTRY_(DIGEST_MISMATCH|BAD_BLOB)$/);
    expect(String(error)).toContain(`registry ${proxy.host}: layer ${bigLayer().digest} of h/app`);
    await expectNothingPartial(store);
  });

  it('a config that does not match its digest is refused', async () => {
    replaceBlob(configDigest, (original) => Buffer.from(original.toString('utf8').replace('"linux"', '"plan9"')));
    const error = await pullImage(await emptyStore(), `${proxy.host}/h/app:1`, fast).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_DIGEST_MISMATCH' });
    expect(String(error)).toContain(`config ${configDigest} of h/app`);
  });

  it('a manifest that does not match the pinned digest is refused', async () => {
    proxy.setHook(async ({ req, res, forward }) => {
      if (!req.url?.includes('/manifests/')) return false;
      const upstream = await forward();
      const body = Buffer.from(`${(await readAll(upstream)).toString('utf8')} `);
      res.writeHead(200, { 'Content-Type': MediaType.ociManifest, 'Content-Length': body.length });
      res.end(body);
      return true;
    });
    const error = await pullImage(await emptyStore(), `${proxy.host}/h/app@${manifestDigest}`, fast).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'REGISTRY_DIGEST_MISMATCH' });
    expect(String(error)).toContain(`manifest h/app@${manifestDigest} does not match its digest`);
  });

  it('more blob bytes than the manifest declares are refused', async () => {
    replaceBlob(bigLayer().digest, (original) => Buffer.concat([original, Buffer.alloc(4096)]));
    const store = await emptyStore();
    await expect(pullImage(store, `${proxy.host}/h/app:1`, fast)).rejects.toMatchObject({ code: 'REGISTRY_TOO_LARGE' });
    await expectNothingPartial(store);
  });

  it('a huge manifest body is refused without buffering it', async () => {
    proxy.setHook(({ req, res }) => {
      if (!req.url?.includes('/manifests/')) return false;
      res.writeHead(200, { 'Content-Type': MediaType.ociManifest });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 6; i++) res.write(chunk);
      res.end('{}');
      return true;
    });
    const error = await pullImage(await emptyStore(), `${proxy.host}/h/app:1`, fast).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_TOO_LARGE' });
    expect(String(error)).toContain(`registry ${proxy.host}: manifest h/app:1: body is over the 4194304-byte limit`);
  });
});

describe('a registry that breaks or stalls', () => {
  function cutBlob(times: number) {
    let cuts = 0;
    proxy.setHook(async ({ req, res, forward }) => {
      if (blobGetDigest(req) !== bigLayer().digest || cuts >= times) return false;
      cuts++;
      const upstream = await forward();
      const body = await readAll(upstream);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return true;
    });
  }

  it('a connection cut mid-blob is retried and then fails clearly, leaving no partial blob', async () => {
    cutBlob(Infinity);
    const store = await emptyStore();
    const error = await pullImage(store, `${proxy.host}/h/app:1`, fast).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_CONNECTION' });
    expect(String(error)).toContain(`registry ${proxy.host}: layer ${bigLayer().digest} of h/app: connection broke`);
    expect(proxy.requests.filter((r) => r.url.endsWith(bigLayer().digest))).toHaveLength(3);
    await expectNothingPartial(store);
  });

  it('one cut connection is retried and the pull succeeds', async () => {
    cutBlob(1);
    const result = await pullImage(await emptyStore(), `${proxy.host}/h/app:1`, fast);
    expect(result.image.configDigest).toBe(configDigest);
    expect(proxy.requests.filter((r) => r.url.endsWith(bigLayer().digest))).toHaveLength(2);
  });

  it('a stalled body times out instead of hanging', async () => {
    proxy.setHook(async ({ req, res, forward }) => {
      if (blobGetDigest(req) !== bigLayer().digest) return false;
      const body = await readAll(await forward());
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.write(body.subarray(0, 1000)); // and then nothing
      return true;
    });
    const store = await emptyStore();
    const started = Date.now();
    const error = await pullImage(store, `${proxy.host}/h/app:1`, { ...fast, idleTimeoutMs: 300, attempts: 2 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'REGISTRY_TIMEOUT' });
    expect(String(error)).toContain(`registry ${proxy.host}: blob ${bigLayer().digest} of h/app: no data for 0.3s`);
    expect(Date.now() - started).toBeLessThan(5000);
    await expectNothingPartial(store);
  });

  it('5xx and 429 answers are retried with backoff, a bounded number of times', async () => {
    let failures = 0;
    proxy.setHook(({ req, res }) => {
      if (!req.url?.includes('/manifests/') || failures >= 2) return false;
      res.writeHead(failures++ === 0 ? 503 : 429);
      res.end();
      return true;
    });
    const result = await pullImage(await emptyStore(), `${proxy.host}/h/app:1`, fast);
    expect(result.image.configDigest).toBe(configDigest);
    proxy.requests.length = 0;
    proxy.setHook(({ res }) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'disk on fire' }] }));
      return true;
    });
    await expect(pullImage(await emptyStore(), `${proxy.host}/h/app:1`, fast)).rejects.toThrow(
      `registry ${proxy.host}: manifest h/app:1: HTTP 500 (UNKNOWN: disk on fire)`,
    );
    expect(proxy.requests).toHaveLength(3);
  });

  it('a registry that is not there fails after bounded retries', async () => {
    const gone = await startProxy(registry().host);
    await gone.close();
    const started = Date.now();
    await expect(pullImage(await emptyStore(), `${gone.host}/h/app:1`, fast)).rejects.toMatchObject({
      code: 'REGISTRY_CONNECTION',
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('a registry serving documents that contradict themselves', () => {
  /** Documents served for repository h/evil: manifests by tag or digest, blobs by digest. */
  function serve(documents: { manifests: Record<string, { type: string; body: Buffer }>; blobs: Buffer[] }) {
    const blobs = new Map(documents.blobs.map((blob) => [sha256Digest(blob), blob]));
    proxy.setHook(({ req, res }) => {
      const manifest = /^\/v2\/h\/evil\/manifests\/(.+)$/.exec(req.url ?? '')?.[1];
      const blob = /^\/v2\/h\/evil\/blobs\/(.+)$/.exec(req.url ?? '')?.[1];
      if (manifest === undefined && blob === undefined) return false;
      const found = manifest !== undefined ? documents.manifests[manifest] : undefined;
      const body = found?.body ?? (blob === undefined ? undefined : blobs.get(blob as Digest));
      if (body === undefined) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'unknown' }] }));
      } else {
        res.writeHead(200, {
          'Content-Type': found?.type ?? 'application/octet-stream',
          'Content-Length': body.length,
        });
        res.end(body);
      }
      return true;
    });
  }

  /** An image for h/evil:1 whose pieces the test bends; `tag` is what the registry answers for `:1`. */
  function evilImage(bend: (manifest: Record<string, unknown>) => void = () => undefined) {
    const { layer, configBytes, manifest } = imageParts('evil\n');
    const gzipped = gzipSync(layer);
    manifest.layers = [describeBlob(gzipped, MediaType.ociLayerGzip)];
    bend(manifest);
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    return { manifestBytes, blobs: [gzipped, configBytes, manifestBytes] };
  }

  /** Serves `index` as h/evil:1, and the image's manifest under its `digest`. */
  function serveIndex(index: unknown, digest: string, image: { manifestBytes: Buffer; blobs: Buffer[] }) {
    serve({
      manifests: {
        '1': { type: MediaType.ociIndex, body: Buffer.from(JSON.stringify(index)) },
        [digest]: { type: MediaType.ociManifest, body: image.manifestBytes },
      },
      blobs: image.blobs,
    });
  }

  /** Pulls h/evil:1 into a fresh store, expects it refused with `code`, the store left empty; returns the message. */
  async function refusedPull(code: string): Promise<string> {
    const store = await emptyStore();
    const error = await pullImage(store, `${proxy.host}/h/evil:1`, fast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code });
    expect(await store.content.list()).toEqual([]);
    expect(await store.tags.list()).toEqual([]);
    expect(await readdir(path.join(store.root, 'ingest'))).toEqual([]);
    expect(await checkStore(store)).toEqual([]);
    return String((error as Error).message).replace(`registry ${proxy.host}: `, '');
  }

  it('pulls the unbent image (the baseline the cases below bend)', async () => {
    const image = evilImage();
    serve({ manifests: { '1': { type: MediaType.ociManifest, body: image.manifestBytes } }, blobs: image.blobs });
    expect((await pullImage(await emptyStore(), `${proxy.host}/h/evil:1`, fast)).image.layers).toHaveLength(1);
  });

  it('refuses a manifest that also lists manifests (CVE-2021-41190)', async () => {
    const image = evilImage((manifest) => {
      manifest.manifests = [describeBlob(Buffer.from('other'), MediaType.ociManifest)];
    });
    serve({ manifests: { '1': { type: MediaType.ociManifest, body: image.manifestBytes } }, blobs: image.blobs });
    expect(await refusedPull('REGISTRY_BAD_MANIFEST')).toBe(
      'manifest h/evil:1: holds both "manifests" and "layers"/"config", so it reads as an index and as a manifest ' +
        '(CVE-2021-41190); refused',
    );
  });

  it("refuses a document whose mediaType disagrees with the index entry or the registry's Content-Type", async () => {
    const image = evilImage();
    const digest = sha256Digest(image.manifestBytes);
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        {
          ...describeBlob(image.manifestBytes, MediaType.dockerManifest),
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    serveIndex(index, digest, image);
    expect(await refusedPull('REGISTRY_BAD_MANIFEST')).toBe(
      `manifest h/evil@${digest}: its mediaType ${MediaType.ociManifest} disagrees with ${MediaType.dockerManifest}, ` +
        'the type it was referred to as',
    );
    serve({ manifests: { '1': { type: MediaType.ociIndex, body: image.manifestBytes } }, blobs: image.blobs });
    expect(await refusedPull('REGISTRY_BAD_MANIFEST')).toMatch(/^manifest h\/evil:1: its mediaType .* disagrees/);
  });

  it('refuses an index entry whose size is not the size of the manifest, and a short layer', async () => {
    const image = evilImage();
    const digest = sha256Digest(image.manifestBytes);
    const entry = { ...describeBlob(image.manifestBytes, MediaType.ociManifest), size: image.manifestBytes.length + 7 };
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ ...entry, platform: { os: 'linux', architecture: 'amd64' } }],
    };
    serveIndex(index, digest, image);
    expect(await refusedPull('REGISTRY_BAD_MANIFEST')).toBe(
      `manifest h/evil@${digest}: ${image.manifestBytes.length} bytes where the descriptor declares ` +
        `${image.manifestBytes.length + 7}`,
    );
    const longer = evilImage((manifest) => {
      const [layer] = manifest.layers as Descriptor[];
      manifest.layers = [{ ...layer, size: (layer?.size ?? 0) + 100 }];
    });
    serve({ manifests: { '1': { type: MediaType.ociManifest, body: longer.manifestBytes } }, blobs: longer.blobs });
    expect(await refusedPull('REGISTRY_SIZE_MISMATCH')).toMatch(
      /^layer sha256:\w+ of h\/evil: \d+ bytes where the manifest declares \d+$/,
    );
  });

  it('follows at most 8 indexes to a manifest', async () => {
    const image = evilImage();
    const manifests: Record<string, { type: string; body: Buffer }> = {
      [sha256Digest(image.manifestBytes)]: { type: MediaType.ociManifest, body: image.manifestBytes },
    };
    let child = describeBlob(image.manifestBytes, MediaType.ociManifest);
    for (let i = 0; i < 9; i++) {
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [{ ...child, platform: { os: 'linux', architecture: 'amd64' } }],
        }),
      );
      manifests[i === 8 ? '1' : sha256Digest(body)] = { type: MediaType.ociIndex, body };
      child = describeBlob(body, MediaType.ociIndex);
    }
    serve({ manifests, blobs: image.blobs });
    expect(await refusedPull('REGISTRY_BAD_MANIFEST')).toBe('h/evil:1: more than 8 indexes lead to its manifest');
  });

  it('refuses a config nested without bound, without a stack overflow', async () => {
    const { layer, config } = imageParts('evil\n');
    const deep = `${'['.repeat(300_000)}${']'.repeat(300_000)}`;
    const configBytes = Buffer.from(`${JSON.stringify(config).slice(0, -1)},"x":${deep}}`);
    const manifestBytes = Buffer.from(JSON.stringify(manifestObject(configBytes, layer)));
    serve({ manifests: { '1': { type: MediaType.ociManifest, body: manifestBytes } }, blobs: [layer, configBytes] });
    expect(await refusedPull('REGISTRY_BAD_MANIFEST')).toBe('config of h/evil: JSON nested deeper than 64 levels');
  });

  it('refuses foreign and unknown layers before downloading anything', async () => {
    const foreign = evilImage((manifest) => {
      const [layer] = manifest.layers as Descriptor[];
      manifest.layers = [
        { ...layer, mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', urls: ['https://x/l'] },
      ];
    });
    serve({ manifests: { '1': { type: MediaType.ociManifest, body: foreign.manifestBytes } }, blobs: foreign.blobs });
    expect(await refusedPull('REGISTRY_BAD_LAYER_TYPE')).toMatch(
      /^layer sha256:\w+ of h\/evil: a foreign \(non-distributable\) layer/,
    );
    expect(proxy.requests.filter((request) => request.url.includes('/blobs/'))).toEqual([]);
    const unknown = evilImage((manifest) => {
      const [layer] = manifest.layers as Descriptor[];
      manifest.layers = [{ ...layer, mediaType: 'application/vnd.example.erofs' }];
    });
    serve({ manifests: { '1': { type: MediaType.ociManifest, body: unknown.manifestBytes } }, blobs: unknown.blobs });
    expect(await refusedPull('REGISTRY_BAD_LAYER_TYPE')).toMatch(
      /unknown layer media type "application\/vnd\.example\.erofs"/,
    );
  });
});
