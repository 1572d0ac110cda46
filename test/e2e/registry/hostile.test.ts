/**
 * Registries that lie, break, stall or flood: every case is a clear RegistryError naming the
 * registry and the object, bounded in time, and leaves nothing half-written in the store.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveImage } from '../../../store/images.js';
import { MediaType, type Digest } from '../../../core/oci.js';
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
