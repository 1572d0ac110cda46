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
import { manifestDescriptor, resolveImage, type ImageStore } from '../store/images.js';
import { MediaType, RefNameAnnotation, type Descriptor, type Digest, type ImageIndex } from '../core/oci.js';
import { normalizeName } from '../store/tag-store.js';

/** Fixed mtime for archive entries, so the same images give the same archive bytes. */
const epoch = new Date(0);

interface ExportedImage {
  names: string[];
  descriptor: Descriptor;
  configDigest: Digest;
  layerDigests: Digest[];
}

/**
 * Writes the images named by `refs` (names, IDs or digests) to `outFile`. A ref that is a name
 * becomes a tag in the archive; an ID exports the image untagged.
 */
export async function saveImages(store: ImageStore, refs: string[], outFile: string): Promise<void> {
  const images = await collect(store, refs);
  const temp = `${outFile}.${randomBytes(6).toString('hex')}.tmp`;
  // tar-stream is imported when an export runs, not by every build that loads this module.
  const { default: tarStreamModule } = await import('tar-stream');
  const pack = tarStreamModule.pack();
  const written = pipeline(pack, createWriteStream(temp, { flags: 'wx' }));
  try {
    await addBytes(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const seen = new Set<Digest>();
    for (const image of images) {
      for (const digest of [image.descriptor.digest, image.configDigest, ...image.layerDigests]) {
        if (seen.has(digest)) continue;
        seen.add(digest);
        await addBlob(store, pack, digest);
      }
    }
    await addBytes(pack, 'index.json', canonicalJson(ociIndex(images)));
    await addBytes(pack, 'manifest.json', JSON.stringify(dockerManifest(images)));
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

async function collect(store: ImageStore, refs: string[]): Promise<ExportedImage[]> {
  const byManifest = new Map<Digest, ExportedImage>();
  for (const ref of refs) {
    const image = await resolveImage(store, ref);
    const size = await store.content.size(image.manifestDigest);
    const entry = byManifest.get(image.manifestDigest) ?? {
      names: [],
      descriptor: manifestDescriptor({ digest: image.manifestDigest, size }, image.config),
      configDigest: image.configDigest,
      layerDigests: image.layers.map((layer) => layer.diffId),
    };
    if (!isIdLike(ref)) entry.names.push(normalizeName(ref));
    byManifest.set(image.manifestDigest, entry);
  }
  return [...byManifest.values()];
}

function isIdLike(ref: string): boolean {
  return /^(sha256:)?[a-f0-9]{4,64}$/.test(ref);
}

function ociIndex(images: ExportedImage[]): ImageIndex {
  const manifests: Descriptor[] = [];
  for (const image of images) {
    if (image.names.length === 0) manifests.push(image.descriptor);
    for (const name of image.names) {
      manifests.push({
        ...image.descriptor,
        annotations: { [RefNameAnnotation]: name, 'io.containerd.image.name': name },
      });
    }
  }
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
}

function dockerManifest(images: ExportedImage[]) {
  return images.map((image) => ({
    Config: blobPath(image.configDigest),
    RepoTags: image.names,
    Layers: image.layerDigests.map(blobPath),
  }));
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
