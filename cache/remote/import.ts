/**
 * `--cache-from`: reads a cache's manifest and records up front (small); a layer is fetched
 * only when asked for (lazy-layers.ts: when something needs its bytes). It is verified twice
 * before it counts: the compressed bytes against the blob digest (size-capped while streaming),
 * the uncompressed bytes against the diff ID the record names.
 */
import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { UserError, StoreError } from '../../core/errors.js';
import { decompress } from '../../layers/decompress.js';
import { MediaType, type Descriptor, type Digest } from '../../core/oci.js';
import { checkBlob, layerPacking, parseManifestDocument } from '../../core/oci-documents.js';
import { BlobIndex, type LayerCompression } from '../../registry/blob-index.js';
import type { CacheRecord, ContentStore } from '../../core/ports.js';
import { cacheConfigMediaType, parseCacheConfig } from './format.js';
import type { CacheLocation } from './location.js';

const maxConfigBytes = 64 * 1024 * 1024;

/** The records of one imported cache and where their layers can be fetched. */
export class ImportedCache {
  constructor(
    readonly location: CacheLocation,
    readonly records: ReadonlyMap<string, CacheRecord>,
    private readonly blobs: ReadonlyMap<Digest, Descriptor>,
  ) {}

  /** Brings the layer `diffId` into `content` (verified), remembering its compressed form for pushes. */
  async fetchLayer(content: ContentStore, diffId: Digest): Promise<void> {
    const blob = this.blobs.get(diffId);
    if (blob === undefined)
      throw new UserError(`--cache-from ${this.location.label}: no blob for layer ${diffId}`, 'CACHE_IMPORT');
    const label = `--cache-from ${this.location.label}: layer ${blob.digest}`;
    await this.location
      .readBlob(blob, (bytes) => content.putStream(capped(bytes, blob.size, label), blob.digest))
      .catch((error: unknown) => {
        throw importError(error, label, 'does not match its digest');
      });
    try {
      const plain = await decompress(createReadStream(content.blobPath(blob.digest)), { label });
      await content.putStream(plain, diffId);
    } catch (error) {
      throw importError(error, label, `does not decompress to the layer ${diffId}`);
    }
    const compression = compressionOf(blob.mediaType);
    if (compression !== undefined)
      await new BlobIndex(content.root).addVariant(diffId, {
        compression,
        digest: blob.digest,
        size: blob.size,
        mediaType: blob.mediaType,
      });
  }
}

/** Reads the cache at `location`; undefined when there is none (a first build: not an error). */
export async function readCache(location: CacheLocation): Promise<ImportedCache | undefined> {
  const manifestBytes = await location.readManifest();
  if (manifestBytes === undefined) return undefined;
  const document = parseManifestDocument(manifestBytes, 'the cache manifest', MediaType.ociManifest);
  if (document.kind !== 'manifest') throw new Error('the cache manifest is an index');
  const { config, layers } = document.manifest;
  if (config.mediaType !== cacheConfigMediaType)
    throw new Error(`not a tzbuild cache (config type ${config.mediaType})`);
  // A layer that is not a tar (or lives elsewhere) makes the whole cache unusable: refused now.
  for (const layer of layers) layerPacking(layer.mediaType, `layer ${layer.digest}`);
  if (config.size > maxConfigBytes) throw new Error(`the cache config is ${config.size} bytes, over the limit`);
  const configBytes = await location.readBlob(config, async (stream) => {
    const chunks: Buffer[] = [];
    for await (const chunk of capped(stream, config.size, 'cache config')) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  });
  checkBlob(configBytes, config, 'the cache config');
  const parsed = parseCacheConfig(configBytes, layers);
  const records = new Map(parsed.records.map(({ key, ...record }) => [key, record]));
  const blobs = new Map(parsed.layers.map((layer) => [layer.diffId, layer.blob]));
  return new ImportedCache(location, records, blobs);
}

function compressionOf(mediaType: string): LayerCompression | undefined {
  if (mediaType === MediaType.ociLayerGzip || mediaType === MediaType.dockerLayerGzip) return 'gzip';
  if (mediaType === MediaType.ociLayerZstd) return 'zstd';
  return undefined;
}

function importError(error: unknown, label: string, mismatch: string): unknown {
  if (error instanceof StoreError && error.code === 'DIGEST_MISMATCH')
    return new UserError(`${label} ${mismatch}`, 'CACHE_IMPORT', { cause: error });
  return error;
}

/**
 * Fails once more bytes arrive than the descriptor declared (a hostile source cannot fill the
 * disk), or when the stream ends short of it.
 */
class SizeCap extends Transform {
  private seen = 0;

  constructor(
    private readonly limit: number,
    private readonly label: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit)
      done(new UserError(`${this.label}: more than the ${this.limit} bytes declared`, 'CACHE_IMPORT'));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.seen < this.limit)
      done(new UserError(`${this.label}: ${this.seen} bytes where ${this.limit} are declared`, 'CACHE_IMPORT'));
    else done();
  }
}

/** `source` through a {@link SizeCap}, with the source's errors passed on. */
function capped(source: Readable, limit: number, label: string): Readable {
  const cap = new SizeCap(limit, label);
  source.on('error', (error) => cap.destroy(error));
  return source.pipe(cap);
}
