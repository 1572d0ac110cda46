/**
 * Exporter: writes images as one tar that is both a docker-archive (`manifest.json`, read by
 * `docker load`) and an OCI image layout (`oci-layout`, `index.json`, `blobs/`), the format
 * `docker save` uses since Docker 25. Blobs are the store's own (uncompressed layers), each once.
 * The file appears only when complete (temp file + rename).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type tarStream from 'tar-stream';
import { canonicalJson, digestHex } from '../core/digest.js';
import { loadManifest, manifestDescriptor, manifestsOf, resolveImage, type ImageStore } from '../store/images.js';
import { defaultPlatform, platformServes, type PlatformSpec } from '../core/platform.js';
import type { ResolvedImage } from '../core/ports.js';
import { MediaType, RefNameAnnotation, type Descriptor, type Digest, type ImageIndex } from '../core/oci.js';
import { normalizeName } from '../store/tag-store.js';

/** Fixed mtime for archive entries, so the same images give the same archive bytes. */
const epoch = new Date(0);

interface ExportedImage {
  descriptor: Descriptor;
  configDigest: Digest;
  layerDigests: Digest[];
}

/** What one name (or ID) in the archive stands for: an image, or a multi-platform index of them. */
interface ExportedEntry {
  names: string[];
  /** The index.json entry: the image's manifest, or the index. */
  descriptor: Descriptor;
  images: ExportedImage[];
  /** Which of `images` carries the names in manifest.json (docker load keeps one image per name). */
  primary: number;
}

/** Options of {@link saveImages}. */
export interface SaveOptions {
  /** Of a multi-platform image, only this platform's image (as a plain image). */
  platform?: PlatformSpec;
}

/**
 * Writes the images named by `refs` (names, IDs or digests) to `outFile`. A ref that is a name
 * becomes a tag in the archive; an ID exports the image untagged. A multi-platform image goes as
 * its index with every platform's image (OCI readers see the index; manifest.json names the
 * host's image), or with `platform` as that platform's image alone.
 */
export async function saveImages(
  store: ImageStore,
  refs: string[],
  outFile: string,
  options: SaveOptions = {},
): Promise<void> {
  const entries = await collect(store, refs, options.platform);
  const temp = `${outFile}.${randomBytes(6).toString('hex')}.tmp`;
  // tar-stream is imported when an export runs, not by every build that loads this module.
  const { default: tarStreamModule } = await import('tar-stream');
  const pack = tarStreamModule.pack();
  const written = pipeline(pack, createWriteStream(temp, { flags: 'wx' }));
  try {
    await addBytes(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const seen = new Set<Digest>();
    for (const entry of entries) {
      const digests = [entry.descriptor.digest];
      for (const image of entry.images)
        digests.push(image.descriptor.digest, image.configDigest, ...image.layerDigests);
      for (const digest of digests) {
        if (seen.has(digest)) continue;
        seen.add(digest);
        await addBlob(store, pack, digest);
      }
    }
    await addBytes(pack, 'index.json', canonicalJson(ociIndex(entries)));
    await addBytes(pack, 'manifest.json', JSON.stringify(dockerManifest(entries)));
    pack.finalize();
    await written;
    await rename(temp, outFile);
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

async function collect(store: ImageStore, refs: string[], platform?: PlatformSpec): Promise<ExportedEntry[]> {
  const byDigest = new Map<Digest, ExportedEntry>();
  for (const ref of refs) {
    const image = await resolveImage(store, ref, platform);
    const asIndex = platform === undefined && image.indexDigest !== undefined ? image.indexDigest : undefined;
    const top = asIndex ?? image.manifestDigest;
    let entry = byDigest.get(top);
    if (entry === undefined) {
      entry =
        asIndex === undefined ? { names: [], ...(await imageEntry(store, image)) } : await indexEntry(store, asIndex);
      byDigest.set(top, entry);
    }
    if (!isIdLike(ref)) entry.names.push(normalizeName(ref));
  }
  return [...byDigest.values()];
}

async function exportedImage(store: ImageStore, image: ResolvedImage): Promise<ExportedImage> {
  const size = await store.content.size(image.manifestDigest);
  return {
    descriptor: manifestDescriptor({ digest: image.manifestDigest, size }, image.config),
    configDigest: image.configDigest,
    layerDigests: image.layers.map((layer) => layer.diffId),
  };
}

async function imageEntry(store: ImageStore, image: ResolvedImage): Promise<Omit<ExportedEntry, 'names'>> {
  const exported = await exportedImage(store, image);
  return { descriptor: exported.descriptor, images: [exported], primary: 0 };
}

async function indexEntry(store: ImageStore, indexDigest: Digest): Promise<ExportedEntry> {
  const images: ExportedImage[] = [];
  const manifests = await manifestsOf(store, indexDigest);
  for (const manifest of manifests) images.push(await exportedImage(store, await loadManifest(store, manifest.digest)));
  const host = manifests.findIndex(
    (manifest) => manifest.platform && platformServes(manifest.platform, defaultPlatform()),
  );
  const primary = Math.max(host, 0);
  const size = await store.content.size(indexDigest);
  return { names: [], descriptor: { mediaType: MediaType.ociIndex, digest: indexDigest, size }, images, primary };
}

function isIdLike(ref: string): boolean {
  return /^(sha256:)?[a-f0-9]{4,64}$/.test(ref);
}

function ociIndex(entries: ExportedEntry[]): ImageIndex {
  const manifests: Descriptor[] = [];
  for (const entry of entries) {
    if (entry.names.length === 0) manifests.push(entry.descriptor);
    for (const name of entry.names) {
      manifests.push({
        ...entry.descriptor,
        annotations: { [RefNameAnnotation]: name, 'io.containerd.image.name': name },
      });
    }
  }
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
}

function dockerManifest(entries: ExportedEntry[]) {
  return entries.flatMap((entry) =>
    entry.images.map((image, i) => ({
      Config: blobPath(image.configDigest),
      RepoTags: i === entry.primary ? entry.names : [],
      Layers: image.layerDigests.map(blobPath),
    })),
  );
}

function blobPath(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

function addBytes(pack: tarStream.Pack, name: string, content: string): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, mode: 0o644, mtime: epoch }, content, (err) => (err ? reject(err) : resolve()));
  });
}

async function addBlob(store: ImageStore, pack: tarStream.Pack, digest: Digest): Promise<void> {
  const size = await store.content.size(digest);
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name: blobPath(digest), mode: 0o644, mtime: epoch, size }, (err) =>
      err ? reject(err) : resolve(),
    );
    createReadStream(store.content.blobPath(digest)).on('error', reject).pipe(sink);
  });
}
