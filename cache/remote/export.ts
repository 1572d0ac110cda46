/**
 * `--cache-to`: the records a build used and the layers they point at, to a cache location. Layers
 * go compressed (gzip) exactly as `push` compresses them, through the same BlobIndex, so a layer
 * compressed for a push (or pulled, or fetched from a cache) is reused, not compressed again.
 * Blobs first, the config next, the manifest last: a reader never sees a cache with holes.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Digest } from '../../core/oci.js';
import { BlobIndex } from '../../registry/blob-index.js';
import { ensureCompressed } from '../../registry/compress.js';
import { mapLimit } from '../../registry/parallel.js';
import type { ContentStore } from '../../core/ports.js';
import { cacheManifest, type ExportedLayer, type ExportedRecord } from './format.js';
import type { CacheLocation } from './location.js';

/** What an export wrote. */
export interface ExportResult {
  records: number;
  layers: number;
  /** Blobs actually sent (the others were there already). */
  sent: number;
  /** Bytes of the blobs sent. */
  sentBytes: number;
}

export async function exportCache(
  content: ContentStore,
  records: ExportedRecord[],
  location: CacheLocation,
): Promise<ExportResult> {
  const index = new BlobIndex(content.root);
  const diffIds = [...new Set(records.flatMap((record) => (record.layer ? [record.layer.diffId] : [])))].sort();
  const result: ExportResult = { records: records.length, layers: diffIds.length, sent: 0, sentBytes: 0 };
  const sizes = new Map(
    records.flatMap((record) => (record.layer ? [[record.layer.diffId, record.layer.size] as const] : [])),
  );
  const layers = await mapLimit(diffIds, 3, async (diffId: Digest): Promise<ExportedLayer> => {
    const { variant } = await ensureCompressed(content, index, diffId, 'gzip');
    const blob = { mediaType: variant.mediaType, digest: variant.digest, size: variant.size };
    if (await location.writeBlob(blob, () => createReadStream(content.blobPath(variant.digest))))
      count(result, blob.size);
    return { diffId, size: sizes.get(diffId) ?? 0, blob };
  });
  const { configBytes, configDescriptor, manifestBytes } = cacheManifest({ records, layers });
  if (await location.writeBlob(configDescriptor, () => Readable.from([configBytes]))) count(result, configBytes.length);
  await location.writeManifest(manifestBytes);
  return result;
}

function count(result: ExportResult, bytes: number): void {
  result.sent++;
  result.sentBytes += bytes;
}
