/**
 * Finding an OCI runtime binary (`runc`, `crun`) and the argv prefix that keeps its state private.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cgroupMounts, type MountEntry } from '../../sys/mounts.js';
import { systemTool } from '../../sys/processes.js';

/** The OCI runtimes the runner knows how to drive. */
export type OciRuntimeKind = 'runc' | 'crun';

/** Absolute path of `kind`, or undefined when it is not installed. */
export function findRuntime(kind: OciRuntimeKind): string | undefined {
  return systemTool(kind);
}

/**
 * Global flags for every call: `--root` points the runtime's state at our scratch dir, so no
 * `/run/runc` or `/run/crun` entry is ever created or left behind.
 */
export function runtimeGlobalArgs(stateDir: string): string[] {
  return ['--root', stateDir];
}

/**
 * The cgroup2 mount `kind` must not see, if any. crun refuses a "hybrid" host (cgroup v1
 * controllers plus a cgroup2 hierarchy at `/sys/fs/cgroup/unified` that has controllers of its
 * own) even with its cgroup manager disabled; runc copes. With that one mount hidden (in a
 * private mount namespace, see ociCommand) crun sees a plain cgroup v1 host and manages it.
 */
export function hiddenCgroup2(kind: OciRuntimeKind, mounts: readonly MountEntry[] = cgroupMounts()): string | undefined {
  if (kind !== 'crun') return undefined;
  const unified = mounts.find((mount) => mount.type === 'cgroup2' && mount.point === HYBRID_CGROUP2);
  if (!unified || !mounts.some((mount) => mount.type === 'cgroup')) return undefined;
  return readText(path.join(unified.point, 'cgroup.controllers')).trim() === '' ? undefined : unified.point;
}

/** Where a hybrid cgroup host mounts its cgroup2 hierarchy (crun looks only there). */
const HYBRID_CGROUP2 = '/sys/fs/cgroup/unified';

/**
 * Shell that hides the mount named by `$1` (for ociCommand; the supervisor does the same): an empty
 * tmpfs covers it, so crun finds no cgroup2 there. Not an unmount: crun still makes its cgroup
 * dir (and writes cgroup.procs) there, and with the mount gone that would land in the host's
 * /sys/fs/cgroup tmpfs underneath and stay; in our tmpfs it goes with the step's namespace. (A
 * user namespace could not unmount it anyway: inherited mounts are locked.)
 */
export const HIDE_MOUNT_SH = 'mount -t tmpfs -o size=64k,mode=755 tzbuild-hidden "$1"';

/**
 * argv for one runtime call; with `hideCgroup2` it runs in a throwaway private mount namespace
 * without that mount, so the host's mounts are never touched.
 */
export function ociCommand(argv: string[], hideCgroup2: string | undefined): string[] {
  if (hideCgroup2 === undefined) return argv;
  const script = `{ ${HIDE_MOUNT_SH}; } && shift && exec "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'tzbuild-oci', hideCgroup2, ...argv];
}

/** A file's text; '' when it cannot be read. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
