/**
 * Mountpoints for a step's extra mounts, made in the sandbox's init layer so that neither the
 * runtime nor we create anything in the merged view (which would land in the step's layer).
 *
 * The target is resolved against the image's layers the way the kernel would resolve it inside
 * the rootfs (symlinks followed, absolute ones from the rootfs root, `..` stopping at the root);
 * every directory along the resolved path that the init layer lacks is created there with the
 * image's owner, mode and times, so the merged view looks exactly like the image's.
 */
import type { Stats } from 'node:fs';
import { chmod, chown, lstat, mkdir, readlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

/** The entry overlayfs shows for `rel` and the layer it comes from. */
export interface LayerEntry {
  layer: string;
  stats: Stats;
}

const MAX_LINKS = 40;

/**
 * The topmost entry for `rel` in `lowerdirs` (lowest first): a 0/0 character device is a
 * whiteout, and a non-directory on the way (ENOTDIR) hides every layer below. Opaque directories
 * are not looked at: a lower entry under one is still reported.
 */
export async function topmostEntry(lowerdirs: readonly string[], rel: string): Promise<LayerEntry | undefined> {
  for (const layer of [...lowerdirs].reverse()) {
    try {
      const stats = await lstat(path.join(layer, rel));
      if (stats.isCharacterDevice() && stats.rdev === 0) return undefined;
      return { layer, stats };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return undefined;
}

/** `target` (absolute) with the symlinks of the layered rootfs followed; path parts, no leading `/`. */
export async function resolveInLayers(lowerdirs: readonly string[], target: string): Promise<string[]> {
  const parts: string[] = [];
  let pending = target.split('/').filter(Boolean);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      parts.pop();
      continue;
    }
    const entry = await topmostEntry(lowerdirs, [...parts, name].join('/'));
    if (entry?.stats.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new UserError(`mount target ${target}: too many levels of symbolic links`, 'RUNNER_SPEC');
      const link = await readlink(path.join(entry.layer, ...parts, name));
      if (link.startsWith('/')) parts.length = 0;
      pending = [...link.split('/').filter(Boolean), ...pending];
      continue;
    }
    parts.push(name);
  }
  return parts;
}

/**
 * Makes sure `target` exists as a directory (or file) in the merged view of `imageLowerdirs` +
 * `initDir`, creating what is missing in `initDir`. Returns the resolved absolute target.
 */
export async function placeMountpoint(initDir: string, imageLowerdirs: readonly string[], target: string, directory: boolean): Promise<string> {
  const layers = [...imageLowerdirs, initDir];
  const parts = await resolveInLayers(layers, target);
  if (parts.length === 0) throw new UserError(`cannot mount over / (${target})`, 'RUNNER_SPEC');
  const resolved = `/${parts.join('/')}`;
  const existing = await topmostEntry(layers, parts.join('/'));
  if (existing !== undefined) {
    if (existing.stats.isDirectory() !== directory) {
      throw new UserError(`mount target ${target}: the image has a ${directory ? 'file' : 'directory'} there, the source is a ${directory ? 'directory' : 'file'}`, 'RUNNER_SPEC');
    }
    return resolved;
  }
  const restore: { dir: string; stats: Stats }[] = [];
  for (let depth = 1; depth < parts.length; depth++) {
    const rel = parts.slice(0, depth).join('/');
    const image = await topmostEntry(imageLowerdirs, rel);
    if (image !== undefined && !image.stats.isDirectory()) {
      throw new UserError(`mount target ${target}: /${rel} is not a directory in the image`, 'RUNNER_SPEC');
    }
    const own = path.join(initDir, rel);
    if (!(await lstat(own).then((info) => info.isDirectory(), () => false))) await mkdir(own, { mode: 0o755 });
    if (image !== undefined) restore.push({ dir: own, stats: image.stats });
  }
  const final = path.join(initDir, ...parts);
  if (directory) await mkdir(final, { mode: 0o755 });
  else await writeFile(final, '', { mode: 0o644 });
  // Last, so the children just created do not leave their parents' mtimes changed.
  for (const { dir, stats } of restore.reverse()) {
    await chown(dir, stats.uid, stats.gid);
    await chmod(dir, stats.mode & 0o7777);
    await utimes(dir, stats.atime, stats.mtime);
  }
  return resolved;
}
