/**
 * The two ways to look at a stack of snapshots (lowest first): {@link layeredView} answers from
 * the snapshot dirs themselves, with no mount (a mount and an unmount cost two processes per
 * step); {@link mountView} mounts a real read-only overlay for the steps that walk a whole tree.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageView, MountedView } from '../core/ports.js';
import { readFileFromLayers, resolveInLayers, topmostEntry } from '../layers/layered-read.js';
import { lowerdirOption } from '../sys/overlay-options.js';
import { runQuiet } from '../sys/processes.js';
import { inUserNamespace } from '../sys/userns.js';

/** The merged filesystem of `lowerdirs` (lowest first), read from the snapshots without a mount. */
export function layeredView(lowerdirs: readonly string[]): ImageView {
  const resolve = async (path: string) => `/${(await resolveInLayers(lowerdirs, path)).join('/')}`;
  return {
    resolve,
    stat: async (path) => (await topmostEntry(lowerdirs, (await resolve(path)).slice(1)))?.stats,
    readText: async (path) =>
      (await readFileFromLayers(lowerdirs, path).catch(() => undefined))?.toString('utf8') ?? '',
  };
}

/**
 * A directory showing the merged filesystem of `lowerdirs` (lowest first): a read-only overlay
 * mount in a new dir under `tmpRoot`, the snapshot itself when there is one, an empty dir when
 * there is none.
 */
export async function mountView(lowerdirs: readonly string[], tmpRoot: string): Promise<MountedView> {
  if (lowerdirs.length === 1) return { root: lowerdirs[0]!, close: async () => undefined };
  if (lowerdirs.length === 0) {
    const empty = await mkdtemp(join(tmpRoot, 'empty-'));
    return { root: empty, close: () => rm(empty, { recursive: true, force: true }) };
  }
  // `<dir>/root` is the mountpoint, `<dir>/layers` holds lowerdir links if the chain needs them.
  const dir = await mkdtemp(join(tmpRoot, 'view-'));
  const mountpoint = join(dir, 'root');
  const removeDir = () => rm(dir, { recursive: true, force: true });
  let mounted: Awaited<ReturnType<typeof runQuiet>>;
  try {
    await mkdir(mountpoint);
    const lower = lowerdirOption(join(dir, 'layers'), lowerdirs);
    // In a user namespace (rootless) overlay reads its markers from user.* xattrs.
    const options = `ro,lowerdir=${lower.value}${inUserNamespace() ? ',userxattr' : ''}`;
    mounted = await runQuiet('mount', ['-t', 'overlay', 'overlay', '-o', options, mountpoint], { cwd: lower.from });
  } catch (error) {
    await removeDir();
    throw error;
  }
  if (mounted.exitCode !== 0) {
    await removeDir();
    const status = `mount exited with ${mounted.exitCode ?? mounted.signal}`;
    const why = mounted.stderr.trim() || mounted.error?.message || status;
    throw new Error(`cannot mount a view of the image: ${why}`);
  }
  return {
    root: mountpoint,
    close: async () => {
      await runQuiet('umount', [mountpoint]);
      await removeDir();
    },
  };
}
