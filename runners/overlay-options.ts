/**
 * How a step's layers are handed to overlayfs. Kept apart from the runner so the ordering rule is
 * easy to test without mounting anything.
 *
 * Each lowerdir gets a short symlink (`<linkDir>/0` for the lowest, `1`, …) and the mount runs
 * from `linkDir`, so the option reads `lowerdir=2:1:0`. The whole option string must fit in one
 * page (4 KiB); with 64-hex snapshot names that page is full after about 60 layers otherwise,
 * and the links also spare us escaping `:` (the layer separator) in real paths.
 */
import { mkdirSync, readdirSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { inUserNamespace } from '../userns.js';

/**
 * Options every overlay mount of ours carries besides the dirs: no features that would write
 * metadata a layer cannot express (redirects, metacopy, index). In a user namespace overlay cannot
 * use `trusted.overlay.*` xattrs (deleting a lower dir then fails with EIO), so it gets `userxattr`
 * and keeps opaque markers as `user.overlay.opaque` (image/upperdir.ts reads both); the kernel
 * refuses `userxattr` with `redirect_dir=off` (which still follows redirects), hence `nofollow`.
 */
export function overlayFeatureOptions(userns = inUserNamespace()): string {
  return userns ? 'redirect_dir=nofollow,metacopy=off,index=off,userxattr' : 'redirect_dir=off,metacopy=off,index=off';
}

/** Overlay's own limit on stacked lowerdirs. */
export const MAX_LOWERDIRS = 500;

/**
 * The `lowerdir=` value for `count` layers linked as `0…count-1`: overlay lists the top layer
 * first, while a RunSpec lists them lowest first, so the order is reversed.
 */
export function lowerdirValue(count: number): string {
  if (count < 1) throw new Error('overlay needs at least one lowerdir');
  return Array.from({ length: count }, (_, index) => String(count - 1 - index)).join(':');
}

/** Creates `linkDir` with one symlink per lowerdir (lowest first); returns the option value. */
export function linkLowerdirs(linkDir: string, lowerdirs: readonly string[]): string {
  if (lowerdirs.length > MAX_LOWERDIRS) {
    throw new UserError(`an image with ${lowerdirs.length} layers is over overlayfs's limit of ${MAX_LOWERDIRS}`, 'RUNNER_SETUP');
  }
  // Synchronous: one tiny metadata call each, per step (see runners/sandbox-dir.ts).
  mkdirSync(linkDir);
  lowerdirs.forEach((dir, index) => symlinkSync(path.resolve(dir), path.join(linkDir, String(index))));
  return lowerdirValue(lowerdirs.length);
}

/** Removes the links made by `linkLowerdirs` (unlink never follows them) and the dir. */
export function unlinkLowerdirs(linkDir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(linkDir);
  } catch {
    return;
  }
  for (const name of names) if (/^\d+$/.test(name)) unlinkSync(path.join(linkDir, name));
}

/** Rejects paths the mount option parser cannot carry (commas split options). */
export function assertMountablePath(dir: string, what: string): void {
  if (!path.isAbsolute(dir)) throw new Error(`${what} must be absolute: ${dir}`);
  if (/[,\n\\]/.test(dir)) {
    throw new UserError(`${what} path cannot contain a comma, backslash or newline: ${dir}`, 'RUNNER_SETUP');
  }
}
