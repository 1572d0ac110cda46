/**
 * runc's record of a container (`<state root>/<id>/state.json`) and the cgroups it lists, and
 * crun's (`<state root>/<id>/status`). Shared by the OCI runner (cleaning up after a step,
 * without a `runc delete` / `crun delete` process) and store recovery (containers a killed build
 * left running).
 */
import { readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { cgroupMounts } from '../../sys/mounts.js';

/** The fields of runc's state.json we use. */
interface RuncState {
  id: string;
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
}

/** The state in `file`, or undefined when it is missing or not runc's. */
async function readRuncState(file: string): Promise<RuncState | undefined> {
  const state = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as Partial<RuncState>,
    () => undefined,
  );
  return typeof state?.id === 'string' ? (state as RuncState) : undefined;
}

/** The container's own leaf cgroups: never anything else a damaged file might name. */
function containerCgroups(state: RuncState): string[] {
  return Object.values(state.cgroup_paths ?? {}).filter(
    (dir) => dir.startsWith('/sys/fs/cgroup/') && path.basename(dir) === state.id,
  );
}

/** What recovery and the runner need of a container either runtime left: its init (pid and start time) and cgroups. */
export interface ContainerRecord {
  pid?: number;
  /** The init's start time (clock ticks since boot), to tell it from a later process with its pid. */
  start?: string;
  cgroups: string[];
}

/**
 * runc's `state.json` or crun's `status` of the container whose id names the dir holding `file`;
 * undefined when the file is missing or names another container. crun records one cgroup path,
 * which it creates under every cgroup hierarchy mounted (v1 controllers, or the v2 root).
 */
export async function readContainerRecord(file: string): Promise<ContainerRecord | undefined> {
  const id = path.basename(path.dirname(file));
  if (path.basename(file) === 'status') return readCrunStatus(file, id);
  const state = await readRuncState(file);
  if (state?.id !== id) return undefined;
  return {
    ...(state.init_process_pid === undefined ? {} : { pid: state.init_process_pid }),
    ...(state.init_process_start === undefined ? {} : { start: String(state.init_process_start) }),
    cgroups: containerCgroups(state),
  };
}

async function readCrunStatus(file: string, id: string): Promise<ContainerRecord | undefined> {
  const status = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as Record<string, unknown>,
    () => undefined,
  );
  const cgroupPath = status?.['cgroup-path'];
  if (typeof cgroupPath !== 'string' || path.posix.basename(cgroupPath) !== id) return undefined;
  const pid = status?.pid;
  const start = status?.['process-start-time'];
  return {
    ...(typeof pid === 'number' ? { pid } : {}),
    ...(typeof start === 'number' ? { start: String(start) } : {}),
    cgroups: cgroupHierarchies().map((point) => path.join(point, cgroupPath)),
  };
}

/** Where the cgroup hierarchies are mounted. */
function cgroupHierarchies(): string[] {
  return cgroupMounts()
    .filter((mount) => mount.point.startsWith('/sys/fs/cgroup'))
    .map((mount) => mount.point);
}

/**
 * Removes the cgroups (already gone is fine); true when all are gone. A cgroup whose last
 * processes are still exiting is busy: retried for up to `waitMs`.
 */
export async function removeCgroups(dirs: readonly string[], waitMs = 0): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  const remove = async (dir: string): Promise<boolean> => {
    for (;;) {
      const code = await rmdir(dir).then(
        () => undefined,
        (error: NodeJS.ErrnoException) => error.code,
      );
      if (code === undefined || code === 'ENOENT') return true;
      if (code !== 'EBUSY' || Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  // One per hierarchy (a dozen on a cgroup v1 host): independent, so at once.
  return (await Promise.all(dirs.map(remove))).every(Boolean);
}
