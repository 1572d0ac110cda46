/**
 * Compressing layers for a push: gzip through zlib, zstd through the `zstd` command (Node 20's
 * zlib has none). The compressed blob goes into the content store and its descriptor into the
 * BlobIndex, so the next push of the same layer compresses nothing.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ContentStore } from '../core/ports.js';
import { MediaType, type Digest } from '../core/oci.js';
import type { BlobIndex, CompressedVariant, LayerCompression } from './blob-index.js';
import { throughCommand } from '../sys/command-stream.js';
import { RegistryError } from './errors.js';

/** Default levels: zlib's 6 for gzip (Docker's default too), zstd's 3. */
export const defaultLevels: Record<LayerCompression, number> = { gzip: 6, zstd: 3 };

/** A variant of `diffId` whose bytes are in the store, compressing (and recording) one when needed. */
export async function ensureCompressed(
  content: ContentStore,
  index: BlobIndex,
  diffId: Digest,
  compression: LayerCompression,
  level?: number,
): Promise<{ variant: CompressedVariant; compressed: boolean }> {
  for (const variant of await index.variants(diffId, compression)) {
    if (await content.has(variant.digest)) return { variant, compressed: false };
  }
  const source = createReadStream(content.blobPath(diffId));
  const stored = await content.putStream(compressStream(source, compression, level ?? defaultLevels[compression]));
  const variant: CompressedVariant = {
    compression,
    digest: stored.digest,
    size: stored.size,
    mediaType: compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayerZstd,
  };
  await index.addVariant(diffId, variant);
  return { variant, compressed: true };
}

/** Throws unless `level` suits `compression` (gzip 1-9, zstd 1-19); checked before a push starts. */
export function checkCompressionLevel(compression: LayerCompression, level: number): void {
  const max = compression === 'gzip' ? 9 : 19;
  if (!Number.isInteger(level) || level < 1 || level > max) {
    throw new RegistryError(`${compression} compression level must be 1-${max}, not ${level}`, 'BAD_COMPRESSION_LEVEL');
  }
}

function compressStream(source: Readable, compression: LayerCompression, level: number): Readable {
  checkCompressionLevel(compression, level);
  if (compression === 'gzip') {
    const gzip = createGzip({ level });
    source.on('error', (err) => gzip.destroy(err));
    return source.pipe(gzip);
  }
  return throughCommand('zstd', ['-c', '-q', `-${level}`], source, (cause) => {
    const missing = (cause as { code?: string }).code === 'ENOENT';
    const message = missing
      ? 'zstd compression needs the zstd command (apt-get install zstd)'
      : 'zstd compression failed';
    return new RegistryError(message, 'COMPRESSION_FAILED', { cause });
  });
}
