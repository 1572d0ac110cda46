/**
 * `tzbuild export`: the container's filesystem (its image's layers with its own on top) as one
 * tar, through a read-only overlay of them all: the upperdir is in overlay format, so it stacks as
 * the top lowerdir. The tar appears only when complete.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerRecord } from '../store/containers.js';
import { mountView } from '../store/snapshot-views.js';
import type { ContainerDeps } from './deps.js';
import { containerLowerdirs } from './layers-view.js';

export async function exportContainer(deps: ContainerDeps, record: ContainerRecord, file: string): Promise<void> {
  const lowerdirs = await containerLowerdirs(deps, record);
  const view = await mountView([...lowerdirs, deps.containers.dirs(record.id).upper], deps.tmpDir);
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // Our own tar writer: exact modes, FIFOs, hardlinks, xattrs, sorted (as `--output type=tar`).
    const [{ layerTarChunks }, { walkDir }] = await Promise.all([
      import('../layers/layer-writer.js'),
      import('../layers/upperdir.js'),
    ]);
    await pipeline(Readable.from(layerTarChunks(walkDir(view.root))), createWriteStream(temp, { flags: 'wx' }));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
    await view.close();
  }
}
