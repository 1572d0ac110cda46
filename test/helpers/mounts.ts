/**
 * Reads /proc/self/mountinfo so tests can assert that a run left nothing mounted.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/** One line of /proc/self/mountinfo. */
export interface MountInfo {
  id: number;
  parentId: number;
  /** Path inside the filesystem that is mounted (`/` unless a bind mount of a subdir). */
  root: string;
  mountPoint: string;
  options: string;
  fsType: string;
  source: string;
}

/** Every mount visible to this process. */
export async function listMounts(): Promise<MountInfo[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter(Boolean).map(parseMountLine);
}

/** Mounts at or below `dir` (e.g. a test's temp dir): should be empty after a run. */
export async function mountsUnder(dir: string): Promise<MountInfo[]> {
  const prefix = path.resolve(dir);
  const mounts = await listMounts();
  return mounts.filter((m) => m.mountPoint === prefix || m.mountPoint.startsWith(`${prefix}/`));
}

/** Overlay mounts whose options name `dir` (as lowerdir, upperdir or workdir). */
export async function overlaysUsing(dir: string): Promise<MountInfo[]> {
  const mounts = await listMounts();
  return mounts.filter((m) => m.fsType === 'overlay' && m.options.includes(path.resolve(dir)));
}

/**
 * True while any overlay — in any mount namespace, even one this process cannot see — still uses
 * `upperdir`/`workdir`: overlayfs refuses a second `index=on` mount of an upperdir in use.
 * Probes with a throwaway mount in a private namespace; leaves an index dir in `workdir` and an
 * origin xattr on `upperdir`, so call it last.
 */
export async function overlayDirsInUse(upperdir: string, workdir: string): Promise<boolean> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-inuse-'));
  try {
    await Promise.all([mkdir(path.join(dir, 'lower')), mkdir(path.join(dir, 'merged'))]);
    const options = `lowerdir=${dir}/lower,upperdir=${upperdir},workdir=${workdir},index=on`;
    const script = `mount -t overlay overlay -o "${options}" "${dir}/merged"`;
    const result = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      reject: false,
    });
    if (result.exitCode === 0) return false;
    if (/in-use|already mounted|busy/i.test(result.stderr)) return true;
    throw new Error(`overlay probe failed: ${result.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseMountLine(line: string): MountInfo {
  // Fields: id parent major:minor root mountpoint options [optional…] - fstype source superoptions
  const [before = '', after = ''] = line.split(' - ');
  const fields = before.split(' ');
  const [fsType = '', source = '', superOptions = ''] = after.split(' ');
  return {
    id: Number(fields[0]),
    parentId: Number(fields[1]),
    root: unescapeOctal(fields[3] ?? ''),
    mountPoint: unescapeOctal(fields[4] ?? ''),
    options: `${fields[5] ?? ''},${unescapeOctal(superOptions)}`,
    fsType,
    source: unescapeOctal(source),
  };
}

/** The kernel writes space, tab, newline and backslash as `\ooo`. */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
