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
import { chmod, chown, lstat, mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { resolveInLayers, topmostEntry } from '../layers/layered-read.js';

/**
 * Makes sure `target` exists as a directory (or file) in the merged view of `imageLowerdirs` +
 * `initDir`, creating what is missing in `initDir`. Returns the resolved absolute target.
 */
export async function placeMountpoint(
  initDir: string,
  imageLowerdirs: readonly string[],
  target: string,
  directory: boolean,
): Promise<string> {
  const layers = [...imageLowerdirs, initDir];
  const parts = await resolveInLayers(layers, target);
  if (parts.length === 0) throw new UserError(`cannot mount over / (${target})`, 'RUNNER_SPEC');
  const resolved = `/${parts.join('/')}`;
  const existing = await topmostEntry(layers, parts.join('/'));
  if (existing !== undefined) {
    if (existing.stats.isDirectory() !== directory) {
      throw new UserError(
        `mount target ${target}: the image has a ${directory ? 'file' : 'directory'} there, the source is a ` +
          `${directory ? 'directory' : 'file'}`,
        'RUNNER_SPEC',
      );
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
    if (
      !(await lstat(own).then(
        (info) => info.isDirectory(),
        () => false,
      ))
    )
      await mkdir(own, { mode: 0o755 });
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
