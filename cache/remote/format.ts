/**
 * The shared-cache format (`--cache-to` / `--cache-from`): an OCI image manifest whose layers are
 * the compressed layer blobs of the exported records and whose config (media type
 * {@link cacheConfigMediaType}) is JSON: `layers` (diff ID and size of each manifest layer, in
 * the same order, as an image config's `rootfs.diff_ids`) and `records` (cache key, index of its
 * layer, duration, `created`). Nothing about the machine, the user, the context or credentials.
 * Descriptors are not repeated in the config: a CI machine downloads it before every build.
 */
import { canonicalJson, sha256Digest } from '../../core/digest.js';
import { isDigest, MediaType, type Descriptor, type Digest } from '../../core/oci.js';
import { parseJsonDocument } from '../../core/oci-documents.js';
import type { CacheRecord } from '../../core/ports.js';
import { cacheKeyVersion } from '../keys.js';

export const cacheConfigMediaType = 'application/vnd.tzbuild.cache.config.v1+json';

/** One exported record: a step's key and what it produced. */
export interface ExportedRecord extends CacheRecord {
  key: string;
}

/** A layer of the export: its uncompressed diff ID and size, and the compressed blob that carries it. */
export interface ExportedLayer {
  diffId: Digest;
  size: number;
  blob: Descriptor;
}

/** The config blob as stored. */
interface CacheConfigJson {
  keyVersion: number;
  layers: { diffId: Digest; size: number }[];
  records: { key: string; layer?: number; durationMs: number; created: string }[];
}

/** Records and layers of a cache, as exported or read back. */
export interface CacheContents {
  records: ExportedRecord[];
  layers: ExportedLayer[];
}

/** The bytes of the config and of the manifest that carries it (both canonical JSON). */
export function cacheManifest({ records, layers }: CacheContents): {
  configBytes: Buffer;
  configDescriptor: Descriptor;
  manifestBytes: Buffer;
} {
  const position = new Map(layers.map((layer, index) => [layer.diffId, index]));
  const config: CacheConfigJson = {
    keyVersion: cacheKeyVersion,
    layers: layers.map(({ diffId, size }) => ({ diffId, size })),
    records: records.map(({ key, layer, durationMs, created }) => ({
      key,
      ...(layer ? { layer: indexOf(position, layer.diffId) } : {}),
      durationMs,
      created,
    })),
  };
  const configBytes = Buffer.from(canonicalJson(config));
  const configDescriptor: Descriptor = {
    mediaType: cacheConfigMediaType,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: layers.map((layer) => layer.blob),
  };
  return { configBytes, configDescriptor, manifestBytes: Buffer.from(canonicalJson(manifest)) };
}

const hexKey = /^[a-f0-9]{64}$/;

/** Parses and checks a cache config against its manifest's layers; throws an Error naming the first problem. */
export function parseCacheConfig(bytes: Buffer, manifestLayers: readonly Descriptor[]): CacheContents {
  const parsed = (parseJsonDocument(bytes, 'the cache config') ?? {}) as Partial<CacheConfigJson>;
  if (parsed.keyVersion !== cacheKeyVersion)
    throw new Error(`made with cache key version ${String(parsed.keyVersion)}, this tzbuild uses ${cacheKeyVersion}`);
  if (!Array.isArray(parsed.records) || !Array.isArray(parsed.layers))
    throw new Error('the config has no records or layers list');
  if (parsed.layers.length !== manifestLayers.length)
    throw new Error(`the config names ${parsed.layers.length} layers, the manifest has ${manifestLayers.length}`);
  const layers = parsed.layers.map((layer, index): ExportedLayer => {
    const blob = manifestLayers[index];
    if (
      !isDigest(layer?.diffId) ||
      typeof layer.size !== 'number' ||
      blob === undefined ||
      !isDigest(blob.digest) ||
      typeof blob.size !== 'number'
    )
      throw new Error(`layer ${index} is malformed`);
    return {
      diffId: layer.diffId,
      size: layer.size,
      blob: { mediaType: String(blob.mediaType), digest: blob.digest, size: blob.size },
    };
  });
  // Only the known fields are kept: an import never carries anything else into the store.
  const records = parsed.records.map(({ key, layer, durationMs, created }): ExportedRecord => {
    if (
      !hexKey.test(String(key)) ||
      typeof durationMs !== 'number' ||
      typeof created !== 'string' ||
      Number.isNaN(Date.parse(created))
    )
      throw new Error('a record is malformed');
    if (layer === undefined) return { key, durationMs, created };
    const ref = typeof layer === 'number' ? layers[layer] : undefined;
    if (ref === undefined) throw new Error(`record ${key} points at a layer the cache does not carry`);
    return { key, layer: { diffId: ref.diffId, size: ref.size }, durationMs, created };
  });
  return { records, layers };
}

function indexOf(position: Map<Digest, number>, diffId: Digest): number {
  const index = position.get(diffId);
  if (index === undefined) throw new Error(`no exported layer for ${diffId}`);
  return index;
}
