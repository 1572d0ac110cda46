/**
 * How layers are handed to overlayfs, for every overlay mount of ours: a RUN step's (both runners),
 * its --mount views, and the read-only views COPY --from and RUN --mount sources read. Pure
 * enough to test without mounting anything.
 *
 * The mount runs from the directory of the lowest lowerdir (for an image, the store's snapshots
 * dir) and names the lowerdirs relative to it, so the option reads `lowerdir=<hex>:<hex>:…`. The
 * whole option string must fit in one page (4 KiB): with 64-hex snapshot names that page is full
 * after about 60 layers. Past a budget, or for a path with a character the option cannot carry
 * (`:` separates layers), each lowerdir gets a short symlink instead (`<linkDir>/0` for the
 * lowest, `1`, …) and the mount runs from `linkDir`: `lowerdir=2:1:0`. Links cost a create and a
 * remove per layer per RUN, hence not by default (docs/performance.md).
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { inUserNamespace } from './userns.js';

/**
 * Options every overlay mount of ours carries besides the dirs: no features that would write
 * metadata a layer cannot express (redirects, metacopy, index). In a user namespace overlay cannot
 * use `trusted.overlay.*` xattrs (deleting a lower dir then fails with EIO), so it gets `userxattr`
 * and keeps opaque markers as `user.overlay.opaque` (layers/upperdir.ts reads both); the kernel
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

/** Returns `lowerdirs`; a UserError past overlay's limit. */
export function checkLowerdirCount<T extends readonly string[]>(lowerdirs: T): T {
  if (lowerdirs.length > MAX_LOWERDIRS) {
    throw new UserError(
      `an image with ${lowerdirs.length} layers is over overlayfs's limit of ${MAX_LOWERDIRS}`,
      'RUNNER_SETUP',
    );
  }
  return lowerdirs;
}

/** Where an overlay mount runs from, and its `lowerdir=` value relative to there. */
export interface LowerdirOption {
  from: string;
  value: string;
}

/**
 * Room for the `lowerdir=` value in the option page, leaving ~1 KiB for upperdir, workdir and the
 * feature options.
 */
export const RELATIVE_LOWERDIRS_BUDGET = 3072;

/**
 * The lowerdirs (lowest first) relative to the dir of the lowest, top first as overlay lists
 * them; undefined when that is over `budget` or a path holds `:`, `,`, `\` or a newline.
 */
export function relativeLowerdirs(
  lowerdirs: readonly string[],
  budget = RELATIVE_LOWERDIRS_BUDGET,
): LowerdirOption | undefined {
  if (lowerdirs.length === 0) throw new Error('overlay needs at least one lowerdir');
  const from = path.dirname(path.resolve(lowerdirs[0]!));
  const names = lowerdirs.map((dir) => path.relative(from, path.resolve(dir)) || '.').reverse();
  if (names.some((name) => /[:,\\\n]/.test(name))) return undefined;
  const value = names.join(':');
  return value.length <= budget ? { from, value } : undefined;
}

/**
 * The `lowerdir=` value for `lowerdirs` (lowest first) and the dir the mount must run from:
 * relative names when they fit, else links made in `linkDir` (removed with {@link unlinkLowerdirs}
 * or with `linkDir`'s parent).
 */
export function lowerdirOption(linkDir: string, lowerdirs: readonly string[]): LowerdirOption {
  checkLowerdirCount(lowerdirs);
  return relativeLowerdirs(lowerdirs) ?? { from: linkDir, value: linkLowerdirs(linkDir, lowerdirs) };
}

/** Creates `linkDir` with one symlink per lowerdir (lowest first); returns the option value. */
export function linkLowerdirs(linkDir: string, lowerdirs: readonly string[]): string {
  checkLowerdirCount(lowerdirs);
  // Synchronous: one tiny metadata call each, per step (see runners/sandbox-dir.ts).
  mkdirSync(linkDir);
  for (const [index, dir] of lowerdirs.entries()) symlinkSync(path.resolve(dir), path.join(linkDir, String(index)));
  return lowerdirValue(lowerdirs.length);
}

/** Removes the links made by `linkLowerdirs` (unlink never follows them); none made is fine. */
export async function unlinkLowerdirs(linkDir: string): Promise<void> {
  const names = await readdir(linkDir).catch(() => [] as string[]);
  await Promise.all(names.filter((name) => /^\d+$/.test(name)).map((name) => unlink(path.join(linkDir, name))));
}

/** Rejects paths the mount option parser cannot carry (commas split options). */
export function assertMountablePath(dir: string, what: string): void {
  if (!path.isAbsolute(dir)) throw new Error(`${what} must be absolute: ${dir}`);
  if (/[,\n\\]/.test(dir)) {
    throw new UserError(`${what} path cannot contain a comma, backslash or newline: ${dir}`, 'RUNNER_SETUP');
  }
}
