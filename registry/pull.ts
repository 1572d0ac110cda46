/**
 * `pull`: a registry image into the store. Only layers the store lacks are downloaded (several at
 * once); each is verified against its blob digest and declared size while it streams, decompressed
 * (gzip, zstd …) and stored uncompressed under its diff ID, which must match the config's
 * `rootfs.diff_ids`. Config bytes are kept as they are, so the image ID equals the registry's.
 * Nothing unverified reaches `blobs/`: a lying, stalling or broken registry leaves no partial blob.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { StoreError } from '../core/errors.js';
import type { LayerRef, ResolvedImage } from '../core/ports.js';
import { canonicalJson, HashingStream } from '../core/digest.js';
import { configPlatform, samePlatform } from '../core/platform.js';
import { decompress } from '../layers/decompress.js';
import {
  commitIndex,
  loadManifest,
  manifestDescriptor,
  manifestFor,
  manifestsOf,
  RegistryDigestAnnotation,
  type ImageStore,
} from '../store/images.js';
import { isDigest, MediaType, type Descriptor, type Digest, type ImageConfig, type Platform } from '../core/oci.js';
import { layerPacking, OciDocumentError, parseJsonDocument } from '../core/oci-documents.js';
import { BlobIndex, type LayerCompression } from './blob-index.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { RegistryError } from './errors.js';
import { asBodyError } from './http.js';
import { defaultPlatform, fetchConfig, fetchImageManifest, fetchIndexPlatforms } from './manifests.js';
import { mapLimit } from './parallel.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';

/** Progress of one blob: `bytes` of `total` moved, or why nothing moved. */
export interface BlobProgress {
  digest: Digest;
  phase: 'exists' | 'downloading' | 'compressing' | 'uploading' | 'mounted' | 'done';
  bytes: number;
  total: number;
}

/** Options of {@link pullImage}. */
export interface PullOptions extends RegistryClientOptions {
  /** Platform to pick from an index (default linux on this machine's architecture). */
  platform?: Platform;
  /** Every platform of a multi-platform image, the name pointing at an index of them. */
  allPlatforms?: boolean;
  /** Store the image without tagging it (one platform of an index being pulled). */
  untagged?: boolean;
  /**
   * Add the pulled platform to what the name holds (an index of the platforms pulled so far)
   * instead of replacing it: what a build for several platforms wants of its bases.
   */
  mergePlatforms?: boolean;
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
  onProgress?: (progress: BlobProgress) => void;
  /** A client to reuse (its registry must be the reference's); else one is made and closed. */
  client?: RegistryClient;
  /**
   * The registry to ask instead of the reference's own (a mirror of Docker Hub, `host:port`); the
   * image is still tagged under the reference's full name.
   */
  endpoint?: string;
}

/** What {@link pullImage} stored. */
export interface PullResult {
  /** The full name it was tagged under (`docker.io/library/alpine:latest`). */
  name: string;
  /** The manifest digest in the registry (the store keeps a rewritten, uncompressed one). */
  registryDigest: Digest;
  image: ResolvedImage;
  /** Layers actually downloaded (the others were already in the store). */
  downloaded: number;
}

/** Pulls `reference` into `store` and tags it under its full normalised name. */
export async function pullImage(
  store: ImageStore,
  reference: string | ImageReference,
  options: PullOptions = {},
): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = options.client ?? new RegistryClient(options.endpoint ?? ref.registry, options);
  try {
    if (options.allPlatforms) return await pullAllPlatforms(store, ref, { ...options, client });
    const fetched = await fetchImageManifest(
      client,
      ref.repository,
      ref.digest ?? ref.tag ?? 'latest',
      options.platform ?? defaultPlatform(),
    );
    // Refused before anything is downloaded: a layer that is not a tar, or lives elsewhere.
    checkLayerTypes(client, ref, fetched.manifest.layers);
    const configBytes = await fetchConfig(client, ref.repository, fetched.manifest.config);
    const diffIds = diffIdsOf(client, ref, configBytes, fetched.manifest.layers.length);
    const index = new BlobIndex(store.content.root);
    let downloaded = 0;
    const layers = await mapLimit(fetched.manifest.layers, options.concurrency ?? 3, async (descriptor, i) => {
      const layer = await pullLayer(
        store,
        client,
        ref.repository,
        descriptor,
        diffIds[i] as Digest,
        options.onProgress,
      );
      if (layer.downloaded) downloaded++;
      await remember(index, client.registry, ref.repository, descriptor, layer.diffId);
      return { diffId: layer.diffId, size: layer.size };
    });
    await index.markSeen(fetched.manifest.config.digest, client.registry, ref.repository);
    const name = formatReference(ref);
    const tag = options.untagged || options.mergePlatforms ? undefined : name;
    const image = await commitPulled(store, tag, configBytes, layers, fetched.digest);
    if (options.mergePlatforms) await mergeIntoName(store, name, image, fetched.digest);
    return { name, registryDigest: fetched.digest, image, downloaded };
  } finally {
    if (options.client === undefined) client.close();
  }
}

function checkLayerTypes(client: RegistryClient, ref: ImageReference, layers: readonly Descriptor[]): void {
  for (const layer of layers) {
    try {
      layerPacking(layer.mediaType, client.label(`layer ${layer.digest} of ${ref.repository}`));
    } catch (err) {
      if (!(err instanceof OciDocumentError)) throw err;
      throw new RegistryError(err.message, 'REGISTRY_BAD_LAYER_TYPE', { cause: err });
    }
  }
}

function diffIdsOf(client: RegistryClient, ref: ImageReference, configBytes: Buffer, layerCount: number): Digest[] {
  let config: Partial<ImageConfig>;
  try {
    config = parseJsonDocument(configBytes, client.label(`config of ${ref.repository}`)) as Partial<ImageConfig>;
  } catch (err) {
    throw new RegistryError((err as Error).message, 'REGISTRY_BAD_MANIFEST', { cause: err });
  }
  const diffIds = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layerCount || !diffIds.every(isDigest)) {
    throw new RegistryError(
      client.label(`config of ${ref.repository}: rootfs.diff_ids does not match the manifest's ${layerCount} layers`),
      'REGISTRY_BAD_MANIFEST',
    );
  }
  return diffIds;
}

/**
 * Each platform's image of a multi-platform one (a plain image is pulled as such), then an index
 * of the stored manifests tagged under the reference's name, the registry's index digest noted.
 */
async function pullAllPlatforms(
  store: ImageStore,
  ref: ImageReference,
  options: PullOptions & { client: RegistryClient },
): Promise<PullResult> {
  const single = { ...options, allPlatforms: false };
  const index = await fetchIndexPlatforms(options.client, ref.repository, ref.digest ?? ref.tag ?? 'latest');
  if (index === undefined || index.platforms.length === 0) return pullImage(store, ref, single);
  const entries: Descriptor[] = [];
  let downloaded = 0;
  let primary: ResolvedImage | undefined;
  for (const platform of index.platforms) {
    const pulled = await pullImage(store, ref, { ...single, platform, untagged: true });
    downloaded += pulled.downloaded;
    const size = await store.content.size(pulled.image.manifestDigest);
    entries.push({
      ...manifestDescriptor({ digest: pulled.image.manifestDigest, size }, pulled.image.config),
      platform,
    });
    if (primary === undefined || platform.architecture === defaultPlatform().architecture) primary = pulled.image;
  }
  const name = formatReference(ref);
  const stored = await commitIndex(store, [], entries);
  await store.tags.set(name, { ...stored, annotations: { [RegistryDigestAnnotation]: index.digest } });
  return { name, registryDigest: index.digest, image: primary!, downloaded };
}

/**
 * Points `name` at `image` while keeping the other platforms it names: an index of them with this
 * platform's entry replaced (or added), or the image alone when the name held only its platform.
 */
async function mergeIntoName(store: ImageStore, name: string, image: ResolvedImage, registryDigest: Digest) {
  const size = await store.content.size(image.manifestDigest);
  const descriptor = manifestDescriptor({ digest: image.manifestDigest, size }, image.config);
  const pulled = descriptor.platform;
  const current = await store.tags.resolve(name);
  const others: Descriptor[] = [];
  if (current !== undefined && pulled !== undefined) {
    const entries = await manifestsOf(store, current.digest).catch(() => []);
    for (const entry of entries) {
      const platform =
        entry.platform ??
        (await loadManifest(store, entry.digest)
          .then((old) => configPlatform(old.config))
          .catch(() => undefined));
      if (platform !== undefined && !samePlatform(platform, pulled)) others.push({ ...entry, platform });
    }
  }
  if (others.length === 0) {
    await store.tags.set(name, { ...descriptor, annotations: { [RegistryDigestAnnotation]: registryDigest } });
    return;
  }
  const entries: Descriptor[] = [];
  for (const { mediaType, digest, platform } of others)
    entries.push({ mediaType, digest, size: await store.content.size(digest), ...(platform ? { platform } : {}) });
  const index = await commitIndex(store, [], [...entries, descriptor]);
  // Marked as pulled (the last pull's digest), so a later build may pull its missing platforms too.
  await store.tags.set(name, { ...index, annotations: { [RegistryDigestAnnotation]: registryDigest } });
}

/** Stores config + a manifest for the uncompressed layers and tags it `name` (when given). */
async function commitPulled(
  store: ImageStore,
  name: string | undefined,
  configBytes: Buffer,
  layers: LayerRef[],
  registryDigest: Digest,
): Promise<ResolvedImage> {
  const configBlob = await store.content.putBytes(configBytes);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  const manifestBlob = await store.content.putBytes(canonicalJson(manifestFor(configBlob, layers)));
  const descriptor = manifestDescriptor(manifestBlob, config);
  const annotations = { ...descriptor.annotations, [RegistryDigestAnnotation]: registryDigest };
  if (name !== undefined) await store.tags.set(name, { ...descriptor, annotations });
  return { ...(await loadManifest(store, manifestBlob.digest)), registryDigest };
}

/** A layer pulled by a registry becomes a known compressed variant, and the repository a mount source. */
async function remember(
  index: BlobIndex,
  registry: string,
  repository: string,
  descriptor: Descriptor,
  diffId: Digest,
): Promise<void> {
  await index.markSeen(descriptor.digest, registry, repository);
  const compression = compressionOf(descriptor.mediaType);
  if (compression !== undefined && descriptor.digest !== diffId) {
    await index.addVariant(diffId, {
      compression,
      digest: descriptor.digest,
      size: descriptor.size,
      mediaType: descriptor.mediaType,
    });
  }
}

function compressionOf(mediaType: string): LayerCompression | undefined {
  if (mediaType === MediaType.ociLayerGzip || mediaType === MediaType.dockerLayerGzip) return 'gzip';
  if (mediaType === MediaType.ociLayerZstd) return 'zstd';
  return undefined;
}

interface PulledLayer extends LayerRef {
  downloaded: boolean;
}

async function pullLayer(
  store: ImageStore,
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  diffId: Digest,
  onProgress?: PullOptions['onProgress'],
): Promise<PulledLayer> {
  if (await store.content.has(diffId)) {
    onProgress?.({ digest: descriptor.digest, phase: 'exists', bytes: 0, total: descriptor.size });
    return { diffId, size: await store.content.size(diffId), downloaded: false };
  }
  const size = await client.retry(() => downloadLayer(store, client, repository, descriptor, diffId, onProgress));
  onProgress?.({ digest: descriptor.digest, phase: 'done', bytes: descriptor.size, total: descriptor.size });
  return { diffId, size, downloaded: true };
}

/** One download attempt: stream → size cap → blob hash → decompress → store (checked as diff ID). */
async function downloadLayer(
  store: ImageStore,
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  diffId: Digest,
  onProgress?: PullOptions['onProgress'],
): Promise<number> {
  const label = client.label(`layer ${descriptor.digest} of ${repository}`);
  const res = await client.getBlob(repository, descriptor.digest);
  const raw = new HashingStream();
  const counter = new SizeLimit(descriptor.size, label, (bytes) =>
    onProgress?.({ digest: descriptor.digest, phase: 'downloading', bytes, total: descriptor.size }),
  );
  let transportError: unknown;
  const transfer = pipeline(res.body, counter, raw).catch((err: unknown) => {
    transportError = err;
  });
  try {
    const plain = await decompress(raw, { label });
    const verified = plain.pipe(
      new CheckAtEnd(async () => {
        await transfer;
        if (transportError !== undefined) throw transportError;
        await finished(raw).catch(() => undefined);
        // The size caps the read; fewer bytes than declared are a lie too.
        if (raw.bytes !== descriptor.size)
          throw new RegistryError(
            `${label}: ${raw.bytes} bytes where the manifest declares ${descriptor.size}`,
            'REGISTRY_SIZE_MISMATCH',
          );
        const got = raw.digest();
        if (got !== descriptor.digest)
          throw new RegistryError(
            `${label}: content does not match its digest (got ${got})`,
            'REGISTRY_DIGEST_MISMATCH',
          );
      }),
    );
    plain.on('error', (err) => verified.destroy(err));
    const stored = await store.content.putStream(verified, diffId);
    return stored.size;
  } catch (err) {
    res.body.destroy();
    await transfer;
    throw pullError(err, transportError, label, diffId);
  }
}

function pullError(err: unknown, transportError: unknown, label: string, diffId: Digest): unknown {
  // A cut connection shows up downstream as truncated gzip; report the cause, which is retryable.
  if (transportError !== undefined) return asBodyError(transportError, label);
  if (err instanceof StoreError && err.code === 'DIGEST_MISMATCH') {
    return new RegistryError(
      `${label}: uncompressed content does not match diff ID ${diffId}`,
      'REGISTRY_DIGEST_MISMATCH',
      { cause: err },
    );
  }
  if (err instanceof StoreError && (err.code === 'BAD_COMPRESSION' || err.code === 'TOO_LARGE')) {
    return new RegistryError(`${label}: ${err.message.replace(`${label}: `, '')}`, 'REGISTRY_BAD_BLOB', { cause: err });
  }
  return err;
}

/** Counts bytes, reports them, and fails once more arrive than the descriptor declared. */
class SizeLimit extends Transform {
  private seen = 0;
  private lastReport = 0;

  constructor(
    private readonly limit: number,
    private readonly label: string,
    private readonly report: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      done(
        new RegistryError(
          `${this.label}: the registry sent more than the ${this.limit} bytes the manifest declares`,
          'REGISTRY_TOO_LARGE',
        ),
      );
      return;
    }
    // Report at most every 256 KiB, so progress costs nothing on big layers.
    if (this.seen - this.lastReport >= 256 * 1024 || this.seen === this.limit) {
      this.lastReport = this.seen;
      this.report(this.seen);
    }
    done(null, chunk);
  }
}

/** Passes bytes through and runs `check` before ending, so a failed check fails the stream. */
class CheckAtEnd extends Transform {
  constructor(private readonly check: () => Promise<void>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.check().then(
      () => done(),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
