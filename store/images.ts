/**
 * Images in the store: commit (config + manifest blobs, tags), resolve by name / digest / ID
 * prefix, list with sizes, untag, and the disk-usage numbers behind `system df`.
 *
 * The image ID is the config digest, as Docker reports it. Configs and manifests we author are
 * serialised with canonical JSON, so equal content always gives the same ID and manifest digest.
 */
import { StoreError } from '../core/errors.js';
import type { ContentStore, LayerRef, ResolvedImage, TagStore } from '../core/ports.js';
import { canonicalJson } from '../core/digest.js';
import {
  isDigest,
  MediaType,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from '../core/oci.js';
import { normalizeName } from './tag-store.js';
import {
  configPlatform,
  defaultPlatform,
  formatPlatform,
  platformServes,
  type PlatformSpec,
} from '../core/platform.js';

/** The two halves of a store that images live in. */
export interface ImageStore {
  content: ContentStore;
  tags: TagStore;
}

/** What {@link commitImage} wrote. */
export interface CommittedImage {
  /** Descriptor of the manifest (as kept in index.json). */
  manifest: Descriptor;
  /** Image ID = config digest. */
  imageId: Digest;
}

/** One row of {@link listImages}. */
export interface ImageSummary {
  id: Digest;
  manifestDigest: Digest;
  tags: string[];
  /** Sum of the layer sizes (uncompressed, as stored). */
  size: number;
  created?: string;
  layers: LayerRef[];
  /** `os/arch[/variant]` from the config. */
  platform?: string;
  /** When the names point at a multi-platform image: the index this platform's manifest is in. */
  indexDigest?: Digest;
}

/** Store-wide numbers for `system df`. */
export interface DiskUsage {
  images: number;
  /** Sum of every image's size, counting shared layers once per image. */
  totalImageSize: number;
  /** Bytes of the distinct layers those images reference (what is actually on disk). */
  uniqueLayerSize: number;
  /** totalImageSize − uniqueLayerSize: what sharing saves. */
  sharedSize: number;
}

/**
 * Writes the config and manifest for `layers` and points every name in `tags` at it. The config's
 * `rootfs.diff_ids` is taken from `layers`, so the two can never disagree.
 */
export async function commitImage(
  store: ImageStore,
  tags: string[],
  config: ImageConfig,
  layers: LayerRef[],
): Promise<CommittedImage> {
  for (const layer of layers) {
    if (!(await store.content.has(layer.diffId)))
      throw new StoreError(`cannot commit image: layer ${layer.diffId} is not in the store`, 'BLOB_NOT_FOUND');
  }
  const fullConfig: ImageConfig = {
    ...config,
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
  };
  const configBlob = await store.content.putBytes(canonicalJson(fullConfig));
  const manifestBlob = await store.content.putBytes(canonicalJson(manifestFor(configBlob, layers)));
  const manifest = manifestDescriptor(manifestBlob, fullConfig);
  for (const tag of tags) await store.tags.set(tag, manifest);
  return { manifest, imageId: configBlob.digest };
}

/**
 * Writes an OCI image index of `manifests` (each descriptor with its platform) and points every
 * name in `tags` at it: what a multi-platform build commits.
 */
export async function commitIndex(store: ImageStore, tags: string[], manifests: Descriptor[]): Promise<Descriptor> {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  const blob = await store.content.putBytes(canonicalJson(index));
  const descriptor: Descriptor = { mediaType: MediaType.ociIndex, digest: blob.digest, size: blob.size };
  for (const tag of tags) await store.tags.set(tag, descriptor);
  return descriptor;
}

/** The OCI manifest of an image in this store (layers uncompressed, so digest = diff ID). */
export function manifestFor(config: { digest: Digest; size: number }, layers: LayerRef[]): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((layer) => ({ mediaType: MediaType.ociLayer, digest: layer.diffId, size: layer.size })),
  };
}

/** The index.json descriptor for a manifest blob, with the image's platform. */
export function manifestDescriptor(blob: { digest: Digest; size: number }, config: ImageConfig): Descriptor {
  const platform = {
    architecture: config.architecture,
    os: config.os,
    ...(config.variant ? { variant: config.variant } : {}),
  };
  return { mediaType: MediaType.ociManifest, digest: blob.digest, size: blob.size, platform };
}

/**
 * On a tag of a pulled image: the manifest digest the registry served (the store's own manifest
 * lists the uncompressed layers, so its digest differs). Docker shows it as a RepoDigest.
 */
export const RegistryDigestAnnotation = 'io.tzbuild.registry.digest';

/**
 * Finds an image by name (`app:1`, `app` = `app:latest`), by manifest or config digest
 * (`sha256:…`), or by an unambiguous image-ID prefix (`3f2a9c`, `sha256:3f2a`).
 */
export async function resolveImage(store: ImageStore, ref: string, platform?: PlatformSpec): Promise<ResolvedImage> {
  if (isDigest(ref)) return loadByDigest(store, ref, platform);
  const tagged = /^[a-z0-9]/.test(ref) && !/\s/.test(ref) ? await store.tags.resolve(ref) : undefined;
  if (tagged !== undefined) {
    const image = await loadImage(store, tagged.digest, ref, platform);
    const registryDigest = tagged.annotations?.[RegistryDigestAnnotation];
    return isDigest(registryDigest) ? { ...image, registryDigest } : image;
  }
  const prefix = /^(sha256:)?([a-f0-9]{4,64})$/.exec(ref)?.[2];
  if (prefix !== undefined) {
    const matches = (await listImages(store)).filter((image) => image.id.slice(7).startsWith(prefix));
    const ids = new Set(matches.map((image) => image.id));
    if (ids.size > 1)
      throw new StoreError(`image ID prefix ${ref} is ambiguous (${ids.size} images match)`, 'AMBIGUOUS_IMAGE');
    const match = matches[0];
    if (match !== undefined) return loadManifest(store, match.manifestDigest);
  }
  throw new StoreError(`image not found: ${ref}`, 'IMAGE_NOT_FOUND');
}

/**
 * An index names one image per platform: what a multi-platform build or a pull of every platform
 * left. Returns the index, or undefined when `digest` is an image manifest.
 */
export async function readIndex(store: ImageStore, digest: Digest): Promise<ImageIndex | undefined> {
  const document = await store.content.getJson<Partial<ImageIndex & ImageManifest>>(digest);
  if (!Array.isArray(document.manifests)) return undefined;
  for (const entry of document.manifests) {
    if (!isDigest(entry?.digest)) throw new StoreError(`index ${digest}: malformed manifest entry`, 'BAD_MANIFEST');
  }
  return document as ImageIndex;
}

/** The image manifests a tag's descriptor reaches: itself, or each entry of an index. */
export async function manifestsOf(store: ImageStore, digest: Digest): Promise<Descriptor[]> {
  const index = await readIndex(store, digest);
  if (index === undefined) return [{ mediaType: MediaType.ociManifest, digest, size: 0 }];
  return index.manifests;
}

/**
 * Loads the image a manifest or index digest names: an index's entry for `platform` (none given:
 * this machine's, else the index's first). `name` is what the user called it, for the message when no entry serves.
 */
export async function loadImage(
  store: ImageStore,
  digest: Digest,
  name: string,
  platform?: PlatformSpec,
): Promise<ResolvedImage> {
  const index = await readIndex(store, digest);
  if (index === undefined) return loadManifest(store, digest);
  const wanted = platform ?? defaultPlatform();
  // Asked for nothing in particular (inspect, save): this machine's image, else the first.
  const entry =
    index.manifests.find((candidate) => candidate.platform && platformServes(candidate.platform, wanted)) ??
    (platform === undefined ? index.manifests[0] : undefined);
  if (entry === undefined) {
    const offered = index.manifests.flatMap((candidate) =>
      candidate.platform ? [formatPlatform(candidate.platform)] : [],
    );
    throw new StoreError(
      `image "${name}" has no image for ${formatPlatform(wanted)} (it has: ${offered.join(', ') || 'none'})`,
      'NO_PLATFORM',
    );
  }
  return { ...(await loadManifest(store, entry.digest)), indexDigest: digest };
}

/** Loads a manifest and its config; layers must be uncompressed blobs present in the store. */
export async function loadManifest(store: ImageStore, manifestDigest: Digest): Promise<ResolvedImage> {
  const manifest = await store.content.getJson<ImageManifest>(manifestDigest);
  if (!isDigest(manifest.config?.digest) || !Array.isArray(manifest.layers)) {
    throw new StoreError(`${manifestDigest} is not an image manifest`, 'BAD_MANIFEST');
  }
  const config = await store.content.getJson<ImageConfig>(manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new StoreError(
      `image ${manifestDigest}: ${manifest.layers.length} layers but ${diffIds.length} diff IDs`,
      'BAD_MANIFEST',
    );
  }
  const layers = manifest.layers.map((layer, i) => {
    if (layer.digest !== diffIds[i]) {
      throw new StoreError(
        `image ${manifestDigest}: layer ${i} is stored compressed or does not match its diff ID`,
        'BAD_MANIFEST',
      );
    }
    return { diffId: layer.digest, size: layer.size };
  });
  return { manifestDigest, manifest, config, configDigest: manifest.config.digest, layers };
}

/** A digest may name a manifest or a config (an image ID); a config's manifest is rebuilt. */
async function loadByDigest(store: ImageStore, digest: Digest, platform?: PlatformSpec): Promise<ResolvedImage> {
  if (!(await store.content.has(digest))) throw new StoreError(`image not found: ${digest}`, 'IMAGE_NOT_FOUND');
  const blob = await store.content.getJson<Partial<ImageManifest & ImageConfig>>(digest).catch((err: unknown) => {
    // A layer or other non-JSON blob: the digest exists but names no image.
    throw new StoreError(`${digest} is not an image`, 'IMAGE_NOT_FOUND', { cause: err });
  });
  if (blob.config !== undefined && Array.isArray(blob.layers)) return loadManifest(store, digest);
  if (Array.isArray((blob as Partial<ImageIndex>).manifests)) return loadImage(store, digest, digest, platform);
  if (blob.rootfs === undefined)
    throw new StoreError(`${digest} is neither an image manifest nor an image config`, 'IMAGE_NOT_FOUND');
  const layers: LayerRef[] = [];
  for (const diffId of blob.rootfs.diff_ids) layers.push({ diffId, size: await store.content.size(diffId) });
  const manifest = manifestFor({ digest, size: await store.content.size(digest) }, layers);
  const manifestBlob = await store.content.putBytes(canonicalJson(manifest));
  return loadManifest(store, manifestBlob.digest);
}

/** Every tagged image, one row per manifest, with all its names. */
export async function listImages(store: ImageStore): Promise<ImageSummary[]> {
  const byManifest = new Map<Digest, string[]>();
  for (const { name, manifest } of await store.tags.list()) {
    byManifest.set(manifest.digest, [...(byManifest.get(manifest.digest) ?? []), name]);
  }
  const rows: ImageSummary[] = [];
  for (const [digest, tags] of byManifest) {
    const index = await readIndex(store, digest);
    const manifests = index === undefined ? [digest] : index.manifests.map((entry) => entry.digest);
    for (const manifestDigest of manifests) {
      const image = await loadManifest(store, manifestDigest);
      const size = image.layers.reduce((sum, layer) => sum + layer.size, 0);
      const platform = configPlatform(image.config);
      rows.push({
        id: image.configDigest,
        manifestDigest,
        tags: tags.sort(),
        size,
        created: image.config.created,
        layers: image.layers,
        ...(platform === undefined ? {} : { platform: formatPlatform(platform) }),
        ...(index === undefined ? {} : { indexDigest: digest }),
      });
    }
  }
  return rows;
}

/** Removes one name; the blobs stay until garbage collection. Returns false when it was not there. */
export async function removeTag(store: ImageStore, name: string): Promise<boolean> {
  return store.tags.remove(normalizeName(name));
}

/** Sizes for `system df`: the sum over images versus the distinct layers on disk. */
export async function diskUsage(store: ImageStore): Promise<DiskUsage> {
  const images = await listImages(store);
  const uniqueLayers = new Map<Digest, number>();
  let totalImageSize = 0;
  for (const image of images) {
    totalImageSize += image.size;
    for (const layer of image.layers) uniqueLayers.set(layer.diffId, layer.size);
  }
  const uniqueLayerSize = [...uniqueLayers.values()].reduce((sum, size) => sum + size, 0);
  return { images: images.length, totalImageSize, uniqueLayerSize, sharedSize: totalImageSize - uniqueLayerSize };
}
