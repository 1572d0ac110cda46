/**
 * Importing images from archives: `docker save` tars (manifest.json + layer tars, possibly
 * gzipped), OCI image-layout tars and OCI layout dirs (`FROM oci-layout://DIR[:TAG]`).
 * Compressed layers are stored uncompressed (digest = diff ID), each verified against the config's
 * `rootfs.diff_ids`; config bytes are kept as they are, so the image ID matches the source's.
 * Manifests are rewritten for the uncompressed layers.
 */
import { StoreError } from '../core/errors.js';
import type { LayerRef, ResolvedImage } from '../core/ports.js';
import { openArchiveTar, openLayoutDir, type ArchiveFiles } from './archive-files.js';
import { canonicalJson, digestHex, HashingStream } from '../core/digest.js';
import { decompress } from '../layers/decompress.js';
import { commitIndex, loadManifest, manifestDescriptor, manifestFor, type ImageStore } from '../store/images.js';
import { defaultPlatform, formatPlatform, platformServes, type PlatformSpec } from '../core/platform.js';
import { storeLayout } from '../store/layout.js';
import {
  isDigest,
  RefNameAnnotation,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageManifest,
} from '../core/oci.js';
import {
  checkBlob,
  checkSize,
  isIndexType,
  isManifestType,
  layerPacking,
  MAX_INDEX_DEPTH,
  OciDocumentError,
  parseJsonDocument,
  parseManifestDocument,
} from '../core/oci-documents.js';

/** Options for archive imports. */
export interface LoadArchiveOptions {
  /** Cap on decompressed bytes per archive and per layer. */
  maxBytes?: number;
  /**
   * Of a multi-platform image, only this platform's image (stored as a plain image). Without it
   * every platform comes in and the name points at an index of them.
   */
  platform?: PlatformSpec;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Imports a docker-archive or OCI-layout tar. Returns the names it tagged; an image without a
 * usable name is returned by its ID (`sha256:…`) and left untagged.
 */
export async function loadArchive(
  store: ImageStore,
  file: string,
  options: LoadArchiveOptions = {},
): Promise<string[]> {
  const files = await openArchiveTar(file, storeLayout(store.content.root).tmp, options.maxBytes);
  try {
    // manifest.json names one image per tag: an archive of multi-platform images is read as OCI.
    const multi = (await files.has('index.json')) && (await holdsIndex(files));
    if (!multi && (await files.has('manifest.json'))) return await importDockerArchive(store, files, options);
    if (await files.has('index.json')) {
      const images = await importOciIndex(store, files, undefined, options);
      return images.flatMap((image) => image.names);
    }
    throw new StoreError(
      `${file}: neither a docker-archive (manifest.json) nor an OCI layout (index.json)`,
      'BAD_ARCHIVE',
    );
  } finally {
    await files.close();
  }
}

/**
 * Imports the image of an OCI layout dir into the store and returns it resolved. `selector` picks
 * the index entry by tag (ref.name) or manifest digest; without it the layout must hold one image.
 */
export async function openOciLayoutDir(
  store: ImageStore,
  dir: string,
  selector?: string,
  options: LoadArchiveOptions = {},
): Promise<ResolvedImage> {
  const files = openLayoutDir(dir);
  const [image] = await importOciIndex(store, files, selector ?? null, options);
  if (image === undefined) throw new StoreError(`${dir}: no image in the layout`, 'IMAGE_NOT_FOUND');
  return loadManifest(store, image.manifest.digest);
}

async function importDockerArchive(
  store: ImageStore,
  files: ArchiveFiles,
  options: LoadArchiveOptions,
): Promise<string[]> {
  const entries = await files.readJson<DockerManifestEntry[]>('manifest.json');
  if (!Array.isArray(entries)) throw new StoreError(`${files.label}: manifest.json is not a list`, 'BAD_ARCHIVE');
  const names: string[] = [];
  for (const entry of entries) {
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) {
      throw new StoreError(`${files.label}: manifest.json entry lacks Config or Layers`, 'BAD_ARCHIVE');
    }
    const configBytes = await files.readBytes(entry.Config);
    const diffIds = diffIdsOf(files, entry.Config, configBytes, entry.Layers.length);
    const layers: LayerRef[] = [];
    for (const [i, layerPath] of entry.Layers.entries()) {
      layers.push(await importLayer(store, files, layerPath, diffIds[i] as Digest, undefined, options));
    }
    const committed = await storeImage(store, configBytes, layers);
    const tags = (entry.RepoTags ?? []).filter((tag) => typeof tag === 'string');
    for (const tag of tags) await store.tags.set(tag, committed.descriptor);
    names.push(...(tags.length > 0 ? tags : [committed.imageId]));
  }
  return names;
}

interface ImportedImage {
  manifest: Descriptor;
  names: string[];
}

/** Imports the images an OCI index lists; `select` = a tag to pick one, null for "the only one". */
async function importOciIndex(
  store: ImageStore,
  files: ArchiveFiles,
  select: string | null | undefined,
  options: LoadArchiveOptions,
): Promise<ImportedImage[]> {
  const indexBytes = await files.readBytes('index.json');
  const index = asStoreError(() => parseManifestDocument(indexBytes, `${files.label}: index.json`));
  if (index.kind !== 'index') throw new StoreError(`${files.label}: index.json is not an index`, 'BAD_ARCHIVE');
  let chosen = index.index.manifests;
  if (select !== undefined) {
    chosen =
      select === null
        ? chosen
        : chosen.filter(
            (d) =>
              d.digest === select || refName(d) === select || d.annotations?.['io.containerd.image.name'] === select,
          );
    if (chosen.length !== 1) {
      const what = select === null ? 'exactly one image' : `an image tagged ${JSON.stringify(select)}`;
      throw new StoreError(`${files.label}: expected ${what}, found ${chosen.length}`, 'IMAGE_NOT_FOUND');
    }
  }
  const imported: ImportedImage[] = [];
  const wholeIndex = options.platform === undefined && select === undefined;
  for (const descriptor of chosen) {
    const name = fullName(descriptor);
    // A multi-platform image (to be loaded whole): every platform's image, then a new index of them.
    const images = wholeIndex ? await platformImages(files, descriptor) : undefined;
    if (images !== undefined) {
      const index = await importWholeIndex(store, files, images, options);
      if (name !== undefined) await store.tags.set(name, index);
      imported.push({ manifest: index, names: [name ?? index.digest] });
      continue;
    }
    const manifest = await resolveManifest(files, descriptor, options.platform);
    const { descriptor: stored, imageId } = await importOciManifest(store, files, manifest, options);
    if (name !== undefined) await store.tags.set(name, stored);
    imported.push({ manifest: stored, names: [name ?? imageId] });
  }
  return imported;
}

/** Whether index.json lists a multi-platform image (an index), which manifest.json cannot carry. */
async function holdsIndex(files: ArchiveFiles): Promise<boolean> {
  const bytes = await files.readBytes('index.json');
  const index = asStoreError(() => parseManifestDocument(bytes, `${files.label}: index.json`));
  return index.kind === 'index' && index.index.manifests.some((entry) => isIndexType(entry.mediaType));
}

/**
 * The entries of a multi-platform image: when `descriptor` is an index listing image manifests for
 * real platforms (attestations, `unknown/unknown`, are left out), those; else undefined.
 */
async function platformImages(files: ArchiveFiles, descriptor: Descriptor): Promise<Descriptor[] | undefined> {
  if (!isIndexType(descriptor.mediaType)) return undefined;
  const what = `manifest ${descriptor.digest}`;
  const bytes = await readVerifiedBlob(files, descriptor, what);
  const document = asStoreError(() => parseManifestDocument(bytes, `${files.label}: ${what}`, descriptor.mediaType));
  if (document.kind !== 'index') return undefined;
  const images = document.index.manifests.filter(
    (entry) => isManifestType(entry.mediaType) && entry.platform !== undefined && entry.platform.os !== 'unknown',
  );
  return images.length > 0 ? images : undefined;
}

/** Imports each platform's image and commits an index of the stored manifests, each with its platform. */
async function importWholeIndex(
  store: ImageStore,
  files: ArchiveFiles,
  entries: Descriptor[],
  options: LoadArchiveOptions,
): Promise<Descriptor> {
  const stored: Descriptor[] = [];
  for (const entry of entries) {
    const manifest = await resolveManifest(files, entry);
    const image = await importOciManifest(store, files, manifest, options);
    stored.push({ ...image.descriptor, ...(entry.platform ? { platform: entry.platform } : {}) });
  }
  return commitIndex(store, [], stored);
}

async function importOciManifest(
  store: ImageStore,
  files: ArchiveFiles,
  manifest: ImageManifest,
  options: LoadArchiveOptions,
) {
  // Refused before any layer is read: a layer that is not a tar, or lives elsewhere.
  for (const layer of manifest.layers)
    asStoreError(() => layerPacking(layer.mediaType, `${files.label}: layer ${layer.digest}`));
  const configBytes = await readVerifiedBlob(files, manifest.config, `config ${manifest.config.digest}`);
  const diffIds = diffIdsOf(files, blobPath(manifest.config.digest), configBytes, manifest.layers.length);
  const layers: LayerRef[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    layers.push(await importLayer(store, files, blobPath(layer.digest), diffIds[i] as Digest, layer, options));
  }
  return storeImage(store, configBytes, layers);
}

/**
 * Streams one layer, decompressed, into the store; checks its diff ID (and, given its descriptor,
 * the blob's size and digest).
 */
async function importLayer(
  store: ImageStore,
  files: ArchiveFiles,
  layerPath: string,
  diffId: Digest,
  blob: Descriptor | undefined,
  options: LoadArchiveOptions,
): Promise<LayerRef> {
  const what = `${files.label}: layer ${layerPath}`;
  if (blob !== undefined) await asStoreError(async () => checkSize(await files.sizeOf(layerPath), blob, what));
  const raw = new HashingStream();
  files
    .open(layerPath)
    .on('error', (err) => raw.destroy(err))
    .pipe(raw);
  const plain = await decompress(raw, { maxBytes: options.maxBytes, label: what });
  try {
    const { digest, size } = await store.content.putStream(plain, diffId);
    if (blob !== undefined) {
      asStoreError(() => checkSize(raw.bytes, blob, what));
      if (raw.digest() !== blob.digest) throw new Error(`blob digest is ${raw.digest()}`);
    }
    return { diffId: digest, size };
  } catch (err) {
    if (err instanceof StoreError && err.code !== 'DIGEST_MISMATCH') throw err;
    throw new StoreError(
      `${files.label}: layer ${layerPath} does not match its digest ${blob?.digest ?? diffId}`,
      'BAD_ARCHIVE',
      { cause: err },
    );
  }
}

async function storeImage(store: ImageStore, configBytes: Buffer, layers: LayerRef[]) {
  const configBlob = await store.content.putBytes(configBytes);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  const manifestBlob = await store.content.putBytes(canonicalJson(manifestFor(configBlob, layers)));
  return { descriptor: manifestDescriptor(manifestBlob, config), imageId: configBlob.digest };
}

function diffIdsOf(files: ArchiveFiles, configPath: string, configBytes: Buffer, layerCount: number): Digest[] {
  const config = asStoreError(
    () => parseJsonDocument(configBytes, `${files.label}: entry ${configPath}`) as Partial<ImageConfig> | null,
  );
  const diffIds = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layerCount || !diffIds.every(isDigest)) {
    throw new StoreError(
      `${files.label}: entry ${configPath}: rootfs.diff_ids does not match the ${layerCount} layers`,
      'BAD_ARCHIVE',
    );
  }
  return diffIds;
}

/** Reads a small blob, capped at its declared size, and checks it is exactly that size and digest. */
async function readVerifiedBlob(files: ArchiveFiles, descriptor: Descriptor, what: string): Promise<Buffer> {
  const label = `${files.label}: ${what}`;
  const path = blobPath(descriptor.digest);
  await asStoreError(async () => checkSize(await files.sizeOf(path), descriptor, label));
  const bytes = await files.readBytes(path, descriptor.size);
  return asStoreError(() => {
    checkBlob(bytes, descriptor, label);
    return bytes;
  });
}

/**
 * Follows an index entry to its image manifest: through nested indexes (at most MAX_INDEX_DEPTH
 * counting index.json) to the entry for linux on this machine's architecture, else the first.
 */
async function resolveManifest(
  files: ArchiveFiles,
  entry: Descriptor,
  platform?: PlatformSpec,
): Promise<ImageManifest> {
  let descriptor = entry;
  for (let depth = 1; ; depth++) {
    const what = `manifest ${descriptor.digest}`;
    const bytes = await readVerifiedBlob(files, descriptor, what);
    const document = asStoreError(() => parseManifestDocument(bytes, `${files.label}: ${what}`, descriptor.mediaType));
    if (document.kind === 'manifest') return document.manifest;
    if (depth >= MAX_INDEX_DEPTH)
      throw new StoreError(
        `${files.label}: more than ${MAX_INDEX_DEPTH} indexes lead to manifest ${entry.digest}`,
        'BAD_ARCHIVE',
      );
    const next = platformEntry(document.index.manifests, platform);
    if (next === undefined && platform !== undefined)
      throw new StoreError(
        `${files.label}: index ${descriptor.digest} has no image for ${formatPlatform(platform)}`,
        'NO_PLATFORM',
      );
    if (next === undefined)
      throw new StoreError(`${files.label}: index ${descriptor.digest} lists no manifests`, 'BAD_ARCHIVE');
    descriptor = next;
  }
}

/** The entry for `platform` (none: linux on this machine's architecture, else the first). */
function platformEntry(manifests: Descriptor[], platform?: PlatformSpec): Descriptor | undefined {
  const wanted = platform ?? defaultPlatform();
  const found = manifests.find((d) => d.platform !== undefined && platformServes(d.platform, wanted));
  return found ?? (platform === undefined ? manifests[0] : undefined);
}

/** Runs a shared OCI check (sync or async), turning its refusal into the StoreError every load failure is. */
function asStoreError<T>(check: () => T): T {
  const convert = (error: unknown): never => {
    if (!(error instanceof OciDocumentError)) throw error;
    throw new StoreError(error.message, 'BAD_ARCHIVE', { cause: error });
  };
  try {
    const result = check();
    return (result instanceof Promise ? result.catch(convert) : result) as T;
  } catch (error) {
    return convert(error);
  }
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

function refName(descriptor: Descriptor): string | undefined {
  return descriptor.annotations?.[RefNameAnnotation];
}

/** A name to tag with: containerd's full-name annotation, or a ref.name that is a full name. */
function fullName(descriptor: Descriptor): string | undefined {
  const containerd = descriptor.annotations?.['io.containerd.image.name'];
  if (containerd !== undefined) return containerd;
  const ref = refName(descriptor);
  // A bare tag ("latest", as umoci writes) names no repository, so it cannot become a store name.
  return ref !== undefined && /[:/]/.test(ref) ? ref : undefined;
}
