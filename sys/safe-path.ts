/**
 * Path resolution confined to a root directory, the way a chroot would see it, for unpacking
 * untrusted layers: every component is lstat'ed; a symlink is followed only by re-interpreting
 * its target inside the root (absolute targets start at the root); a target that climbs above
 * the root is refused rather than clamped, because a legit image has no reason to do it.
 * Synchronous calls: a layer apply resolves every entry this way (see apply-node.ts).
 */
import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';

/** A path that would leave the root; `message` names the entry. */
export class EscapeError extends Error {}

/** Linux's longest path a system call takes, its terminating NUL included (limits.h). */
export const PATH_MAX = 4096;
/** Linux's longest name of one path component, in bytes. */
export const NAME_MAX = 255;

/** True when the host path `full` is too long for a system call to name. */
export function pastPathMax(full: string | Buffer): boolean {
  return (typeof full === 'string' ? Buffer.byteLength(full) : full.length) >= PATH_MAX;
}

const maxSymlinkHops = 40;

/**
 * Splits a tar entry name into clean components. Leading `./` is fine; absolute names and `..`
 * components are refused (they only appear in hostile or broken archives).
 */
export function entryComponents(name: string): string[] {
  if (name.startsWith('/')) throw new EscapeError(`entry ${JSON.stringify(name)} has an absolute path`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new EscapeError(`entry ${JSON.stringify(name)} climbs out with '..'`);
  if (parts.some((part) => part.includes('\u0000')))
    throw new EscapeError(`entry ${JSON.stringify(name)} contains NUL`);
  return parts;
}

/**
 * Resolves the directory that holds the last component of `components`, following symlinks inside
 * `root` only. Returns the host path of that parent dir plus the (unfollowed) last name. With
 * `create`, missing parent dirs are made (mode 0755, as Docker does for implied parents).
 */
export function resolveParent(
  root: string,
  components: string[],
  entryName: string,
  create: boolean,
): { parent: string; base: string } | undefined {
  const base = components[components.length - 1];
  if (base === undefined) throw new EscapeError(`entry ${JSON.stringify(entryName)} names the root itself`);
  const parent = resolveDir(root, components.slice(0, -1), entryName, create);
  return parent === undefined ? undefined : { parent, base };
}

/**
 * Resolves `components` (all of them) to a directory inside `root`; see {@link resolveParent}.
 * Without `create`, a missing component gives undefined (an escape still throws).
 */
export function resolveDir(root: string, components: string[], entryName: string, create: boolean): string | undefined {
  const resolved: string[] = [];
  const queue = [...components];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0)
        throw new EscapeError(`entry ${JSON.stringify(entryName)} resolves outside the root through a symlink`);
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    const stats = lstatOrUndefined(host);
    if (stats === undefined) {
      if (!create) return undefined;
      mkdirSync(host, { mode: 0o755 });
      resolved.push(part);
    } else if (stats.isSymbolicLink()) {
      if (++hops > maxSymlinkHops) throw new EscapeError(`entry ${JSON.stringify(entryName)}: too many symlinks`);
      const target = readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      queue.unshift(...target.split('/'));
    } else if (stats.isDirectory()) {
      resolved.push(part);
    } else {
      throw new EscapeError(`entry ${JSON.stringify(entryName)}: ${path.join(...resolved, part)} is not a directory`);
    }
  }
  return path.join(root, ...resolved);
}

/** lstat that maps "not there" to undefined. */
export function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
