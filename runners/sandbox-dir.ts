/**
 * The private scratch directory of one step: the merged mountpoint, the generated /etc files, and
 * an "init layer" — the trick Docker uses for the same problem. The init layer is the topmost
 * lowerdir and holds empty mountpoints (/proc, /dev, /etc/hosts, /etc/resolv.conf,
 * /etc/hostname), so nothing has to be created in the merged view: the upperdir (the step's
 * layer) never sees them, and mount(2) never meets an image symlink at those paths.
 *
 * Made with synchronous calls, on the step's path: a dozen tiny metadata operations, each a few
 * microseconds done directly but far more as a promise (a thread-pool round trip). Removed with
 * promises, in parallel: that mostly happens after the step, while the build's thread has other
 * work.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { rm, rmdir, unlink } from 'node:fs/promises';
import { topmostEntry } from '../layers/layered-read.js';
import os from 'node:os';
import path from 'node:path';
import type { RunMount } from '../core/ports.js';
import { lowerdirOption, unlinkLowerdirs } from '../sys/overlay-options.js';
import { prepareStepMounts, removeStepMounts, type PreparedMounts } from './step-mounts.js';

/** Paths inside one step's scratch directory. */
export interface SandboxDir {
  root: string;
  merged: string;
  /** The init layer, to be stacked on top of the image's lowerdirs. */
  init: string;
  /** Holds the generated `hosts`, `resolv.conf` and `hostname`, bind-mounted over the image's. */
  etc: string;
  /** Short symlinks to every lowerdir, made only when the chain is too long to name directly. */
  layers: string;
  /** Where the overlay mount runs from: the lowest lowerdir's dir, or `layers` (sys/overlay-options.ts). */
  mountFrom: string;
  /** The `lowerdir=` value, relative to `mountFrom`. */
  lowerdirOption: string;
  /** The step's extra mounts (RunSpec.mounts), their views and copies under `root/mounts`. */
  mounts: PreparedMounts;
}

/** The /etc files every step gets, generated per step and never written to the layer. */
export const ETC_FILES = ['hosts', 'resolv.conf', 'hostname'] as const;
const MOUNT_DIRS = ['proc', 'dev'] as const;

/**
 * Creates the scratch dir under `tmpRoot` for a step over `lowerdirs` (lowest first), with the
 * mountpoints and sources of `mounts` prepared (step-mounts.ts).
 */
export async function createSandboxDir(
  tmpRoot: string,
  hostname: string,
  lowerdirs: readonly string[],
  mounts: readonly RunMount[] = [],
): Promise<SandboxDir> {
  const root = mkdtempSync(path.join(tmpRoot, 'tzbuild-run-'));
  const dir: SandboxDir = {
    root,
    merged: path.join(root, 'merged'),
    init: path.join(root, 'init'),
    etc: path.join(root, 'etc'),
    layers: path.join(root, 'layers'),
    mountFrom: root,
    lowerdirOption: '',
    mounts: { mounts: [], views: [] },
  };
  try {
    await fillSandboxDir(dir, hostname, lowerdirs);
    dir.mounts = await prepareStepMounts(path.join(root, 'mounts'), dir.init, lowerdirs, mounts);
  } catch (error) {
    await removeSandboxDir(dir);
    throw error;
  }
  return dir;
}

async function fillSandboxDir(dir: SandboxDir, hostname: string, lowerdirs: readonly string[]): Promise<void> {
  mkdirSync(dir.merged);
  mkdirSync(dir.etc);
  writeFileSync(path.join(dir.etc, 'hostname'), `${hostname}\n`);
  writeFileSync(path.join(dir.etc, 'hosts'), hostsFile(hostname));
  writeFileSync(path.join(dir.etc, 'resolv.conf'), hostResolvConf());
  await makeInitLayer(dir.init, lowerdirs);
  // The init layer goes on top; for FROM scratch it is the only lowerdir.
  const option = lowerdirOption(dir.layers, [...lowerdirs, dir.init]);
  dir.mountFrom = option.from;
  dir.lowerdirOption = option.value;
}

/**
 * Removes the scratch dir entry by entry, never recursively: if a mount were somehow still
 * attached to `merged`, a recursive delete would reach through it into the layer. Asynchronous,
 * unlike the making: it mostly runs after the step (the OCI runner's tidying), where calls on
 * the thread pool leave the build's thread free.
 */
export async function removeSandboxDir(dir: SandboxDir): Promise<void> {
  await Promise.all([
    ...ETC_FILES.flatMap((name) => [
      unlinkIfPresent(path.join(dir.etc, name)),
      unlinkIfPresent(path.join(dir.init, 'etc', name)),
    ]),
    unlinkLowerdirs(dir.layers),
    removeStepMounts(path.join(dir.root, 'mounts')),
  ]);
  // The init layer is only ever a lowerdir, never a mountpoint: it may go recursively (mount
  // targets add nested entries to it).
  await rm(dir.init, { recursive: true, force: true });
  await Promise.all([dir.layers, dir.etc, dir.merged].map(rmdirIfPresent));
  await rmdirIfPresent(dir.root);
}

/**
 * Empty /proc and /dev always (they are mounted over, so their attributes never show). /etc
 * only when the image's /etc is a directory or absent, copying the image's owner, mode and times
 * so the merged /etc looks exactly like the image's; a symlinked /etc gets no /etc files at all.
 */
async function makeInitLayer(init: string, lowerdirs: readonly string[]): Promise<void> {
  mkdirSync(init, { mode: 0o755 });
  for (const name of MOUNT_DIRS) mkdirSync(path.join(init, name), { mode: 0o755 });
  const imageEtc = (await topmostEntry(lowerdirs, 'etc'))?.stats;
  if (imageEtc && !imageEtc.isDirectory()) return;
  const etc = path.join(init, 'etc');
  mkdirSync(etc, { mode: 0o755 });
  for (const name of ETC_FILES) writeFileSync(path.join(etc, name), '', { mode: 0o644 });
  if (imageEtc) {
    chownSync(etc, imageEtc.uid, imageEtc.gid);
    chmodSync(etc, imageEtc.mode & 0o7777);
    utimesSync(etc, imageEtc.atime, imageEtc.mtime);
  }
}

/** Same shape as BuildKit's: the step's own name resolves to loopback. */
function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
}

/** The host's resolver config (the step shares or mimics the host network), else empty. */
function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** unlink(2); a path already gone is fine. */
export async function unlinkIfPresent(file: string): Promise<void> {
  await unlink(file).catch(ignoreMissing);
}

/** rmdir(2); a dir already gone is fine. */
export async function rmdirIfPresent(dir: string): Promise<void> {
  await rmdir(dir).catch(ignoreMissing);
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

/** Default parent for scratch dirs. */
export function defaultTmpRoot(): string {
  return os.tmpdir();
}
