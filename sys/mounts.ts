/**
 * Mounts under the store root, from /proc/self/mountinfo. Overlay views (builder/rootfs.ts) are
 * mounted in tzbuild's own mount namespace; a build killed with SIGKILL leaves them mounted, and
 * recovery unmounts those whose owner is dead before deleting their dirs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runQuiet } from './processes.js';

/** One line of /proc/self/mountinfo: where, which filesystem type, what of it. */
export interface MountEntry {
  /** Decoded absolute path. */
  point: string;
  type: string;
  /** The directory of the filesystem mounted there (`/` unless a bind mount of a subtree). */
  root: string;
  /** The filesystem's own options (for a cgroup v1 hierarchy: its controllers). */
  superOptions: string[];
}

/** The mounts `mountinfo` lists (default: this process's, none when unreadable). */
export function readMounts(mountinfo = readMountinfo()): MountEntry[] {
  return mountinfo.split('\n').flatMap((line) => {
    const fields = line.split(' ');
    const [type, , superOptions = ''] = line.split(' - ')[1]?.split(' ') ?? [];
    if (fields[4] === undefined || fields[3] === undefined || type === undefined) return [];
    return [
      { point: unescapeField(fields[4]), type, root: unescapeField(fields[3]), superOptions: superOptions.split(',') },
    ];
  });
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

let cgroupHierarchies: MountEntry[] | undefined;

/**
 * The cgroup v1 and v2 hierarchies mounted here, read once per process: they do not change under
 * us, and the runner, its cgroup priming and container cleanup all ask.
 */
export function cgroupMounts(): MountEntry[] {
  cgroupHierarchies ??= readMounts().filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2');
  return cgroupHierarchies;
}

function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // Not Linux: nothing is mounted by us.
    return '';
  }
}

/** Mount points (decoded absolute paths) at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = path.resolve(dir);
  const found = new Set<string>();
  for (const { point } of readMounts()) if (point === prefix || point.startsWith(`${prefix}/`)) found.add(point);
  return [...found].sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir` (lazily when busy); true when nothing is left mounted. */
export async function unmountAllUnder(dir: string): Promise<boolean> {
  for (const mountPoint of await mountsUnder(dir)) {
    if ((await umount([mountPoint])) !== 0) await umount(['-l', mountPoint]);
  }
  return (await mountsUnder(dir)).length === 0;
}

/** Runs umount; resolves to its exit code (failure is judged by what stays mounted). */
async function umount(args: string[]): Promise<number> {
  return (await runQuiet('umount', args)).exitCode ?? -1;
}
