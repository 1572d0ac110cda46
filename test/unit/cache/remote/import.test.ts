/** `--cache-from` reading a cache directory it cannot trust: documents, sizes and layers checked before use. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readCache } from '../../../../cache/remote/import.js';
import { LocalDirCacheLocation } from '../../../../cache/remote/local-dir.js';
import { cacheManifest, type ExportedLayer } from '../../../../cache/remote/format.js';
import { sha256Digest } from '../../../../core/digest.js';
import { MediaType } from '../../../../core/oci.js';
import { checkStore } from '../../../../store/fsck.js';
import { header, rawTar, tempDir, tempStore } from '../../../helpers/layers.js';
import { describe as describeBlob, indexFor, json, writeLayoutDir } from '../../../helpers/oci-layout.js';

const layer = rawTar([{ header: header('cached.txt', { size: 3 }), body: 'hi\n' }]);
const gzipped = gzipSync(layer);

/** A one-record cache as the exporter writes it, with `bend` applied to the manifest object first. */
function cacheParts(bend: (manifest: Record<string, unknown>) => void = () => undefined, blob = gzipped) {
  const layers: ExportedLayer[] = [
    { diffId: sha256Digest(layer), size: layer.length, blob: describeBlob(blob, MediaType.ociLayerGzip) },
  ];
  const records = [
    {
      key: 'a'.repeat(64),
      layer: { diffId: sha256Digest(layer), size: layer.length },
      durationMs: 1,
      created: '2026-01-01T00:00:00Z',
    },
  ];
  const { configBytes, manifestBytes } = cacheManifest({ records, layers });
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Record<string, unknown>;
  bend(manifest);
  const bent = json(manifest);
  return { index: indexFor(bent, {}, 'latest'), blobs: [gzipped, configBytes, bent], configBytes };
}

async function cacheDir(parts: ReturnType<typeof cacheParts>): Promise<LocalDirCacheLocation> {
  return new LocalDirCacheLocation(await writeLayoutDir(path.join(await tempDir(), 'cache'), parts));
}

describe('readCache of a local cache directory', () => {
  it('reads the unbent cache and fetches its layer, verified', async () => {
    const cache = await readCache(await cacheDir(cacheParts()));
    expect(cache?.records.size).toBe(1);
    const store = await tempStore();
    await cache?.fetchLayer(store.content, sha256Digest(layer));
    expect(await store.content.has(sha256Digest(layer))).toBe(true);
  });

  it('refuses a cache manifest that is also an index', async () => {
    const parts = cacheParts((manifest) => {
      manifest.manifests = [describeBlob(Buffer.from('x'), MediaType.ociManifest)];
    });
    await expect(readCache(await cacheDir(parts))).rejects.toThrow(
      'the cache manifest: holds both "manifests" and "layers"/"config"',
    );
  });

  it('refuses a manifest whose size in index.json is not its size', async () => {
    const parts = cacheParts();
    const [entry] = (parts.index as { manifests: { size: number }[] }).manifests;
    entry!.size += 1;
    await expect(readCache(await cacheDir(parts))).rejects.toThrow(
      /: manifest sha256:\w+: \d+ bytes where the descriptor declares/,
    );
  });

  it('refuses layers that are not tar, and a config nested without bound', async () => {
    const unknown = cacheParts((manifest) => {
      manifest.layers = [{ ...(manifest.layers as object[])[0], mediaType: 'application/x-squashfs' }];
    });
    await expect(readCache(await cacheDir(unknown))).rejects.toThrow(
      /^layer sha256:\w+: unknown layer media type "application\/x-squashfs"/,
    );
    const deep = Buffer.from(`{"keyVersion":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const parts = cacheParts((manifest) => {
      manifest.config = { ...(manifest.config as object), digest: sha256Digest(deep), size: deep.length };
    });
    parts.blobs.push(deep);
    await expect(readCache(await cacheDir(parts))).rejects.toThrow(
      'the cache config: JSON nested deeper than 64 levels',
    );
  });

  it('refuses a layer blob shorter than declared, storing nothing', async () => {
    const short = gzipped.subarray(0, gzipped.length - 5);
    const parts = cacheParts((manifest) => {
      manifest.layers = [{ ...(manifest.layers as object[])[0], digest: sha256Digest(short) }];
    });
    parts.blobs[0] = short;
    const cache = await readCache(await cacheDir(parts));
    const store = await tempStore();
    await expect(cache?.fetchLayer(store.content, sha256Digest(layer))).rejects.toThrow(
      `: ${short.length} bytes where ${gzipped.length} are declared`,
    );
    expect(await store.content.list()).toEqual([]);
    expect(await readdir(path.join(store.root, 'ingest'))).toEqual([]);
    expect(await checkStore(store)).toEqual([]);
  });
});
