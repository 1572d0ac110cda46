/**
 * `push`: an image from the store to a registry. Layers are compressed on their first push (the
 * compressed blob and the mapping diff ID → compressed descriptor stay in the store, see
 * blob-index.ts); each blob is HEADed and skipped when the repository has it, mounted from another
 * repository of the same registry when we know one holding it, else uploaded (monolithic when
 * small, one streamed PATCH when large). Blobs go up in parallel; the config next, the manifest last,
 * so the registry never holds a manifest whose blobs are missing.
 */
import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { StoreError } from '../core/errors.js';
import type { ContentStore, LayerRef, ResolvedImage } from '../core/ports.js';
import { sha256Digest } from '../core/digest.js';
import { loadManifest, manifestDescriptor, manifestsOf, resolveImage, type ImageStore } from '../store/images.js';
import { MediaType, type Descriptor, type Digest } from '../core/oci.js';
import { BlobIndex, type CompressedVariant, type LayerCompression } from './blob-index.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { checkCompressionLevel, ensureCompressed } from './compress.js';
import { RegistryError } from './errors.js';
import { mapLimit } from './parallel.js';
import type { BlobProgress } from './pull.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';

/** Options of {@link pushImage}. */
export interface PushOptions extends RegistryClientOptions {
  /** Where to push (default: the source name itself). */
  destination?: string;
  compression?: LayerCompression;
  compressionLevel?: number;
  /** Manifest flavour: OCI (default) or Docker schema 2 (gzip only). */
  format?: 'oci' | 'docker';
  /** Blobs uploaded at once (default 3). */
  concurrency?: number;
  /** Blobs up to this size go up in one PUT; bigger ones in one streamed PATCH (default 8 MiB). */
  monolithicMaxBytes?: number;
  onProgress?: (progress: BlobProgress) => void;
  client?: RegistryClient;
}

/** What {@link pushImage} did. */
export interface PushResult {
  /** Full destination name (`localhost:5000/app:1`). */
  name: string;
  /** Digest of the manifest in the registry. */
  digest: Digest;
  /** Blobs by what happened to them (layers and config). */
  uploaded: number;
  mounted: number;
  existing: number;
  /** Layers compressed for this push (0 when every layer was pushed before). */
  compressed: number;
}

interface PushContext {
  content: ContentStore;
  client: RegistryClient;
  index: BlobIndex;
  ref: ImageReference;
  options: PushOptions;
  result: PushResult;
}

/** Pushes the store image `source` (a name, ID or digest) to its own name or `options.destination`. */
export async function pushImage(store: ImageStore, source: string, options: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(options.destination ?? source);
  if (ref.tag === undefined)
    throw new RegistryError(`cannot push to a digest (${formatReference(ref)}); name a tag`, 'BAD_REFERENCE');
  if (options.format === 'docker' && options.compression === 'zstd')
    throw new RegistryError('Docker manifests cannot carry zstd layers; use --format oci', 'BAD_PUSH_OPTIONS');
  if (options.compressionLevel !== undefined)
    checkCompressionLevel(options.compression ?? 'gzip', options.compressionLevel);
  const image = await resolveLocal(store, source);
  const client = options.client ?? new RegistryClient(ref.registry, options);
  const result: PushResult = {
    name: formatReference(ref),
    digest: 'sha256:',
    uploaded: 0,
    mounted: 0,
    existing: 0,
    compressed: 0,
  };
  const context: PushContext = {
    content: store.content,
    client,
    index: new BlobIndex(store.content.root),
    ref,
    options,
    result,
  };
  try {
    if (image.indexDigest === undefined) {
      const pushed = await pushManifest(context, image);
      await putChecked(context, ref.tag, pushed);
      result.digest = pushed.digest;
      return result;
    }
    // A multi-platform image: each platform's image by digest, then the index under the tag.
    const entries: Descriptor[] = [];
    for (const entry of await manifestsOf(store, image.indexDigest)) {
      const platformImage = await loadManifest(store, entry.digest);
      const pushed = await pushManifest(context, platformImage);
      await putChecked(context, pushed.digest, pushed);
      const platform = entry.platform ?? manifestDescriptor(entry, platformImage.config).platform;
      entries.push({
        mediaType: pushed.mediaType,
        digest: pushed.digest,
        size: pushed.bytes.length,
        ...(platform ? { platform } : {}),
      });
    }
    const docker = options.format === 'docker';
    const mediaType = docker ? MediaType.dockerManifestList : MediaType.ociIndex;
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: entries }));
    const indexDigest = sha256Digest(bytes);
    await putChecked(context, ref.tag, { mediaType, bytes, digest: indexDigest });
    result.digest = indexDigest;
    return result;
  } finally {
    if (options.client === undefined) client.close();
  }
}

/** Pushes an image's layers and config; returns its manifest (not yet put). */
async function pushManifest(
  context: PushContext,
  image: ResolvedImage,
): Promise<{ mediaType: string; bytes: Buffer; digest: Digest }> {
  const { client, content, options } = context;
  const layers = await mapLimit(image.layers, options.concurrency ?? 3, (layer) => pushLayer(context, layer));
  const configSize = await content.size(image.configDigest);
  await pushBlob(
    context,
    { digest: image.configDigest, size: configSize },
    await context.index.seenIn(image.configDigest, client.registry),
  );
  const { mediaType, bytes } = manifestBytes(image, configSize, layers, options.format ?? 'oci');
  return { mediaType, bytes, digest: sha256Digest(bytes) };
}

/** Puts a manifest or index under `reference` (a tag or its digest); the registry must agree on the digest. */
async function putChecked(
  context: PushContext,
  reference: string,
  manifest: { mediaType: string; bytes: Buffer; digest: Digest },
): Promise<void> {
  const { client, ref } = context;
  const reported = await client.putManifest(ref.repository, reference, manifest.mediaType, manifest.bytes);
  if (reported !== undefined && reported !== manifest.digest) {
    throw new RegistryError(
      client.label(
        `manifest ${ref.repository}:${reference}: registry reports ${reported}, expected ${manifest.digest}`,
      ),
      'REGISTRY_DIGEST_MISMATCH',
    );
  }
}

/** The local image: by the name as given, else by its full normalised name. */
async function resolveLocal(store: ImageStore, source: string): Promise<ResolvedImage> {
  try {
    return await resolveImage(store, source);
  } catch (err) {
    if (!(err instanceof StoreError) || err.code !== 'IMAGE_NOT_FOUND') throw err;
    let full: string;
    try {
      full = formatReference(parseReference(source));
    } catch {
      throw err;
    }
    if (full === source) throw err;
    return resolveImage(store, full).catch(() => Promise.reject(err));
  }
}

/** Pushes one layer in the wanted compression; returns its manifest descriptor. */
async function pushLayer(context: PushContext, layer: LayerRef): Promise<CompressedVariant> {
  const { content, index, client, options } = context;
  const compression = options.compression ?? 'gzip';
  // A compressed form the registry already holds (or can mount) needs no local bytes at all.
  for (const variant of await index.variants(layer.diffId, compression)) {
    const seen = await index.seenIn(variant.digest, client.registry);
    if (seen.length === 0) continue;
    if (await existsOrMounted(context, variant, seen)) return variant;
  }
  const { variant, compressed } = await ensureCompressed(
    content,
    index,
    layer.diffId,
    compression,
    options.compressionLevel,
  );
  if (compressed) {
    context.result.compressed++;
    options.onProgress?.({ digest: variant.digest, phase: 'compressing', bytes: variant.size, total: variant.size });
  }
  await pushBlob(context, variant, await index.seenIn(variant.digest, client.registry));
  return variant;
}

/** HEAD, then a mount from the most recent other repository known to hold the blob. */
async function existsOrMounted(
  context: PushContext,
  blob: { digest: Digest; size: number },
  seen: string[],
): Promise<boolean> {
  const { client, ref, index, result, options } = context;
  if (await client.hasBlob(ref.repository, blob.digest)) {
    result.existing++;
    options.onProgress?.({ digest: blob.digest, phase: 'exists', bytes: 0, total: blob.size });
    await index.markSeen(blob.digest, client.registry, ref.repository);
    return true;
  }
  const from = seen.find((repository) => repository !== ref.repository);
  if (from === undefined) return false;
  const mount = await client.startUpload(ref.repository, { digest: blob.digest, from });
  if (!mount.mounted) return false;
  result.mounted++;
  options.onProgress?.({ digest: blob.digest, phase: 'mounted', bytes: blob.size, total: blob.size });
  await index.markSeen(blob.digest, client.registry, ref.repository);
  return true;
}

/** Makes sure the repository has a blob whose bytes are in the store: HEAD, mount, or upload. */
async function pushBlob(context: PushContext, blob: { digest: Digest; size: number }, seen: string[]): Promise<void> {
  if (await existsOrMounted(context, blob, seen)) return;
  const { client, ref, content, options } = context;
  const label = client.label(`upload of ${blob.digest} to ${ref.repository}`);
  const open = () => withProgress(createReadStream(content.blobPath(blob.digest)), blob, options.onProgress);
  await client.retry(async () => {
    const started = await client.startUpload(ref.repository);
    if (started.mounted) return;
    if (blob.size <= (options.monolithicMaxBytes ?? 8 * 1024 * 1024)) {
      await client.completeUpload(ref.repository, started.location, blob.digest, { length: blob.size, open }, label);
    } else {
      const next = await client.uploadChunk(ref.repository, started.location, { length: blob.size, open }, label);
      await client.completeUpload(ref.repository, next, blob.digest, undefined, label);
    }
  });
  context.result.uploaded++;
  options.onProgress?.({ digest: blob.digest, phase: 'done', bytes: blob.size, total: blob.size });
  await context.index.markSeen(blob.digest, client.registry, ref.repository);
}

function withProgress(
  stream: Readable,
  blob: { digest: Digest; size: number },
  onProgress: PushOptions['onProgress'],
): Readable {
  if (onProgress === undefined) return stream;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      onProgress({ digest: blob.digest, phase: 'uploading', bytes, total: blob.size });
      done(null, chunk);
    },
  });
  stream.on('error', (err) => counter.destroy(err));
  return stream.pipe(counter);
}

/** The manifest to push: the store's config as is, layers as pushed. */
function manifestBytes(
  image: ResolvedImage,
  configSize: number,
  layers: CompressedVariant[],
  format: 'oci' | 'docker',
): { mediaType: string; bytes: Buffer } {
  const docker = format === 'docker';
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const layerDescriptors: Descriptor[] = layers.map((layer) => ({
    mediaType: docker ? MediaType.dockerLayerGzip : layer.mediaType,
    digest: layer.digest,
    size: layer.size,
  }));
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig,
      digest: image.configDigest,
      size: configSize,
    },
    layers: layerDescriptors,
  };
  return { mediaType, bytes: Buffer.from(JSON.stringify(manifest)) };
}
