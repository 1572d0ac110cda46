/**
 * Exporters of an image's filesystem (what a container would see): `type=local` applies every
 * layer, in order, into a directory; `type=tar` streams that directory as one tar. Both go
 * through the safe layer apply, so nothing lands outside the destination.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { StoreError } from '../core/errors.js';
import type { ResolvedImage } from '../core/ports.js';
import type { ImageStore } from '../store/images.js';
import { storeLayout } from '../store/layout.js';

/** Writes the image's merged filesystem into `dest` (created when missing; must be empty). */
export async function exportRootfs(store: ImageStore, image: ResolvedImage, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  if ((await readdir(dest)).length > 0)
    throw new StoreError(`--output type=local: ${dest} is not empty`, 'DEST_NOT_EMPTY');
  for (const layer of image.layers) {
    await (await import('../layers/layer-apply.js')).applyLayer(
      createReadStream(store.content.blobPath(layer.diffId)),
      dest,
      { format: 'merged', label: layer.diffId },
    );
  }
}

/** Writes the image's merged filesystem as one tar at `file` (appears only when complete). */
export async function exportRootfsTar(store: ImageStore, image: ResolvedImage, file: string): Promise<void> {
  const scratch = await mkdtemp(path.join(storeLayout(store.content.root).tmp, 'export-'));
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await exportRootfs(store, image, path.join(scratch, 'rootfs'));
    // Our own tar writer: exact modes (no umask), FIFOs and devices, hardlinks, xattrs, sorted.
    const [{ layerTarChunks }, { walkDir }] = await Promise.all([
      import('../layers/layer-writer.js'),
      import('../layers/upperdir.js'),
    ]);
    await pipeline(
      Readable.from(layerTarChunks(walkDir(path.join(scratch, 'rootfs')))),
      createWriteStream(temp, { flags: 'wx' }),
    );
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}
