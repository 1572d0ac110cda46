/**
 * A step's extra mounts (RunSpec.mounts), made ready for either runner: where each mountpoint is
 * inside the rootfs, which host path gets bound there, and which overlay views the step's private
 * mount namespace must mount first (a stage's layers, a writable bind whose writes are thrown away).
 *
 * Mountpoints never reach the step's layer: a missing one is created in the sandbox's init layer
 * (mount-targets.ts), which sits above the image and below nothing the step writes; targets under
 * /dev live in the step's /dev tmpfs.
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { RunMount } from '../core/ports.js';
import { topmostEntry } from '../layers/layered-read.js';
import { placeMountpoint } from './mount-targets.js';
import { assertMountablePath, lowerdirOption } from '../sys/overlay-options.js';

/** One mount as the runners apply it. */
export interface PreparedMount {
  type: 'bind' | 'tmpfs';
  /** Host path to bind (inside the step's private namespace for overlay views); `tmpfs` for tmpfs. */
  source: string;
  /** Absolute path in the rootfs, the image's symlinks already followed. */
  target: string;
  readonly: boolean;
  /** Directory mountpoint (else a file). */
  directory: boolean;
  /** Under /dev: the mountpoint belongs in the /dev tmpfs, not in the init layer. */
  inDev: boolean;
  /** tmpfs mount options. */
  options: string[];
}

/** An overlay the private namespace mounts before the step (a `--mount` source view). */
export interface MountView {
  /** Where the mount runs from, and the `lowerdir=` value relative to it (sys/overlay-options.ts). */
  from: string;
  lowerdirOption: string;
  /** Throwaway upperdir/workdir, or undefined for a read-only view. */
  upper?: string;
  work?: string;
  view: string;
}

/** Everything a runner needs for a step's mounts. */
export interface PreparedMounts {
  mounts: PreparedMount[];
  views: MountView[];
}

/** Links in the step's /dev that lead outside it: nothing may be mounted through them. */
const DEV_LINKS = new Set(['fd', 'stdin', 'stdout', 'stderr', 'ptmx']);
const FORBIDDEN_ROOTS = ['/proc', '/sys'];

/**
 * Prepares `mounts` under `dir` (a fresh dir in the step's scratch dir): views and copies are
 * made, missing mountpoints created in `initDir` (the init layer over `imageLowerdirs`).
 */
export async function prepareStepMounts(
  dir: string,
  initDir: string,
  imageLowerdirs: readonly string[],
  mounts: readonly RunMount[],
): Promise<PreparedMounts> {
  const prepared: PreparedMounts = { mounts: [], views: [] };
  if (mounts.length > 0) await mkdir(dir, { mode: 0o700 });
  for (const [index, mount] of mounts.entries()) {
    const own = path.join(dir, String(index));
    await mkdir(own);
    const source = await mountSource(own, mount, prepared.views);
    const target = checkTarget(mount.target);
    const inDev = target.startsWith('/dev/');
    const resolved = inDev ? target : await placeMountpoint(initDir, imageLowerdirs, target, source.directory);
    prepared.mounts.push({
      type: mount.kind === 'tmpfs' ? 'tmpfs' : 'bind',
      source: source.path,
      target: resolved,
      readonly: mount.readonly,
      directory: source.directory,
      inDev,
      options: mount.kind === 'tmpfs' ? tmpfsOptions(mount) : [],
    });
  }
  return prepared;
}

/** Removes what prepareStepMounts made (views are only ever mounted in the step's namespace). */
export async function removeStepMounts(dir: string): Promise<void> {
  // Safe to remove recursively: nothing under `dir` is a mountpoint on the host, and rm never
  // follows the lowerdir links.
  await rm(dir, { recursive: true, force: true });
}

/** The normalised target; refuses the root, /proc, /sys, /dev itself and our /dev links. */
function checkTarget(target: string): string {
  if (/[\t\n\0]/.test(target))
    throw new UserError(`mount target cannot contain a tab, newline or NUL: ${JSON.stringify(target)}`, 'RUNNER_SPEC');
  const normalised = path.posix.resolve('/', target);
  const forbidden =
    normalised === '/' ||
    normalised === '/dev' ||
    FORBIDDEN_ROOTS.some((root) => normalised === root || normalised.startsWith(`${root}/`));
  if (forbidden) throw new UserError(`cannot mount over ${normalised} in a RUN step`, 'RUNNER_SPEC');
  if (normalised.startsWith('/dev/') && DEV_LINKS.has(normalised.split('/')[2]!)) {
    throw new UserError(`cannot mount over ${normalised}: it is a link made by the runner`, 'RUNNER_SPEC');
  }
  return normalised;
}

/** The host path the step's mount binds, and whether it is a directory. */
async function mountSource(
  own: string,
  mount: RunMount,
  views: MountView[],
): Promise<{ path: string; directory: boolean }> {
  if (mount.kind === 'tmpfs') return { path: 'tmpfs', directory: true };
  if (mount.kind === 'layers') return layersSource(own, mount, views);
  if (mount.source === undefined) throw new UserError(`bind mount at ${mount.target} has no source`, 'RUNNER_SPEC');
  const source = path.resolve(mount.source);
  checkHostPath(source);
  const info = await stat(source).catch(() => undefined);
  if (info === undefined) throw new UserError(`bind mount source ${source} does not exist`, 'RUNNER_SPEC');
  const directory = info.isDirectory();
  if (mount.readonly || !mount.discardWrites) return { path: source, directory };
  if (!directory) {
    // A file cannot carry an overlay: the step writes to a copy instead.
    const copy = path.join(own, 'copy');
    await copyFile(source, copy);
    return { path: copy, directory };
  }
  return { path: await addView(own, [source], true, views), directory };
}

/** A stage's or image's layers: the snapshot itself when one is enough, else an overlay view. */
async function layersSource(
  own: string,
  mount: RunMount,
  views: MountView[],
): Promise<{ path: string; directory: boolean }> {
  const lowerdirs = (mount.lowerdirs ?? []).map((dir) => path.resolve(dir));
  lowerdirs.forEach(checkHostPath);
  const subpath = path.posix.normalize(`/${mount.subpath ?? ''}`).slice(1);
  const entry = subpath === '' ? undefined : await topmostEntry(lowerdirs, subpath);
  if (subpath !== '' && entry === undefined)
    throw new UserError(`mount source /${subpath} does not exist in the stage or image`, 'RUNNER_SPEC');
  if (entry?.stats.isSymbolicLink())
    throw new UserError(`mount source /${subpath} is a symlink (resolve it first)`, 'RUNNER_SPEC');
  const directory = entry === undefined || entry.stats.isDirectory();
  const writable = !mount.readonly;
  if (!writable && lowerdirs.length === 1) return { path: path.join(lowerdirs[0]!, subpath), directory };
  let layers = lowerdirs;
  if (layers.length === 0 || (!writable && layers.length === 1)) {
    // Overlay needs a lowerdir (two without an upperdir): an empty one stands in for scratch.
    const empty = path.join(own, 'empty');
    await mkdir(empty, { mode: 0o755 });
    layers = [empty, ...layers];
  }
  if (!writable && layers.length === 1) return { path: path.join(layers[0]!, subpath), directory };
  const view = await addView(own, layers, writable, views);
  return { path: path.join(view, subpath), directory };
}

async function addView(own: string, lowerdirs: string[], writable: boolean, views: MountView[]): Promise<string> {
  const view = path.join(own, 'view');
  await mkdir(view, { mode: 0o755 });
  const option = lowerdirOption(path.join(own, 'layers'), lowerdirs);
  const entry: MountView = { from: option.from, lowerdirOption: option.value, view };
  if (writable) {
    entry.upper = path.join(own, 'upper');
    entry.work = path.join(own, 'work');
    await Promise.all([mkdir(entry.upper), mkdir(entry.work)]);
  }
  views.push(entry);
  return view;
}

function checkHostPath(dir: string): void {
  assertMountablePath(dir, 'mount source');
  if (dir.includes('\t')) throw new UserError(`mount source path cannot contain a tab: ${dir}`, 'RUNNER_SETUP');
}

/** BuildKit's tmpfs mounts: nosuid, nodev, world-writable with the sticky bit, optional size. */
function tmpfsOptions(mount: RunMount): string[] {
  if (mount.size !== undefined && !/^\d+[kmgKMG]?$/.test(mount.size)) {
    throw new UserError(`invalid tmpfs size "${mount.size}" (bytes, or a number with k, m or g)`, 'RUNNER_SPEC');
  }
  return ['nosuid', 'nodev', 'mode=1777', ...(mount.size === undefined ? [] : [`size=${mount.size}`])];
}
