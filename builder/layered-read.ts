/**
 * Reading one small file of an image straight from its snapshots, as overlayfs would show it,
 * without mounting a view: a RUN step needs only /etc/passwd and /etc/group to resolve its user,
 * and a mount plus an unmount cost two processes per step.
 *
 * Layers are searched top first. A 0/0 character device is a whiteout, a non-directory on the way
 * hides everything below, and a directory marked opaque (`trusted.overlay.opaque=y`, or
 * `user.overlay.opaque` rootless) hides the lower layers'
 * contents. Symlinks are followed inside the image (absolute ones from its root, `..` stopping at
 * the root), so the answer never comes from outside the snapshots.
 */
import type { Stats } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import path from 'node:path';
import { getAttribute } from '@napi-rs/xattr';
import { overlayXattrPrefix } from '../userns.js';

const MAX_LINKS = 40;

/** The topmost entry for `rel` among `layers` (top first), and the layers below it that still count. */
interface Found {
  host: string;
  stats: Stats;
  /** Index into the layers (top first) of the layer holding it. */
  layer: number;
}

/**
 * The content of `file` (absolute, in the image) as the merged view of `lowerdirs` (lowest first)
 * shows it; undefined when absent or not a regular file. Files over `maxBytes` are an error.
 */
export async function readFileFromLayers(lowerdirs: readonly string[], file: string, maxBytes = 16 << 20): Promise<Buffer | undefined> {
  const layers = [...lowerdirs].reverse();
  const found = await resolve(layers, file);
  if (found === undefined || !found.stats.isFile()) return undefined;
  if (found.stats.size > maxBytes) throw new Error(`${file} in the image is larger than ${maxBytes} bytes`);
  const handle = await open(found.host, 'r');
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Follows `file` through the layers; undefined when some component is missing or whited out. */
async function resolve(layers: readonly string[], file: string): Promise<Found | undefined> {
  let pending = file.split('/').filter(Boolean);
  const parts: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      parts.pop();
      continue;
    }
    const entry = await lookup(layers, [...parts, name]);
    if (entry === undefined) return undefined;
    if (entry.stats.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new Error(`${file}: too many levels of symbolic links`);
      const target = await readlink(entry.host);
      if (target.startsWith('/')) parts.length = 0;
      pending = [...target.split('/').filter(Boolean), ...pending];
      continue;
    }
    if (pending.length > 0 && !entry.stats.isDirectory()) return undefined;
    parts.push(name);
    if (pending.length === 0) return entry;
  }
  // The root itself.
  return undefined;
}

/** The entry overlayfs shows for `parts`: the topmost layer that has it, opaque parents honoured. */
async function lookup(layers: readonly string[], parts: readonly string[]): Promise<Found | undefined> {
  // A layer counts only while no higher layer made an ancestor opaque or replaced it.
  const visible = await visibleLayers(layers, parts.slice(0, -1));
  for (const layer of visible) {
    const host = path.join(layers[layer]!, ...parts);
    const stats = await lstat(host).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (stats === undefined) continue;
    if (stats.isCharacterDevice() && stats.rdev === 0) return undefined;
    return { host, stats, layer };
  }
  return undefined;
}

/**
 * Indexes (top first) of the layers whose copy of directory `parts` the merged view shows: walking
 * down from the root, a whiteout or non-directory hides a path in every lower layer, and an opaque
 * directory hides the lower layers' copies of it and of everything under it.
 */
async function visibleLayers(layers: readonly string[], parts: readonly string[]): Promise<number[]> {
  let visible = layers.map((_, index) => index);
  for (let depth = 1; depth <= parts.length; depth++) {
    const next: number[] = [];
    for (const index of visible) {
      const host = path.join(layers[index]!, ...parts.slice(0, depth));
      const stats = await lstat(host).catch(() => undefined);
      if (stats === undefined) continue;
      if (!stats.isDirectory()) break;
      next.push(index);
      if (await isOpaque(host)) break;
    }
    visible = next;
  }
  return visible;
}

async function isOpaque(dir: string): Promise<boolean> {
  const value = await getAttribute(dir, `${overlayXattrPrefix()}opaque`).catch(() => null);
  return value?.toString() === 'y';
}
