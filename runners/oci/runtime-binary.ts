/**
 * Finding an OCI runtime binary (`runc`, `crun`) and the argv prefix that keeps its state private.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { helperFile } from '../../sys/helper-files.js';
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
export function hiddenCgroup2(
  kind: OciRuntimeKind,
  mounts: readonly MountEntry[] = cgroupMounts(),
): string | undefined {
  if (kind !== 'crun') return undefined;
  const unified = mounts.find((mount) => mount.type === 'cgroup2' && mount.point === HYBRID_CGROUP2);
  if (!unified || !mounts.some((mount) => mount.type === 'cgroup')) return undefined;
  return readText(path.join(unified.point, 'cgroup.controllers')).trim() === '' ? undefined : unified.point;
}

/** Where a hybrid cgroup host mounts its cgroup2 hierarchy (crun looks only there). */
const HYBRID_CGROUP2 = '/sys/fs/cgroup/unified';

/**
 * argv for one runtime call; with `hideCgroup2` it runs in a throwaway private mount namespace
 * where helpers/hide-mount.sh has covered that mount (an empty tmpfs, not an unmount: why is
 * there), so the host's mounts are never touched.
 */
export function ociCommand(argv: string[], hideCgroup2: string | undefined): string[] {
  if (hideCgroup2 === undefined) return argv;
  return inPrivateMountNamespace('hide-mount.sh', [hideCgroup2, ...argv]);
}

/** argv that runs the sh helper `script` with `args` in a new private mount namespace (unshare(1)). */
export function inPrivateMountNamespace(script: string, args: string[]): string[] {
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', helperFile(script), ...args];
}

/** A file's text; '' when it cannot be read. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
