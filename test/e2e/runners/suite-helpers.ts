/**
 * Host-side probes for the runner behaviour suite: the step's processes seen from the host, cgroups
 * a runtime may leave, and a layer holding the host's `setcap` with its libraries.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** Host pids of a step's `sh -c SCRIPT` whose script contains `marker`. */
export async function stepProcesses(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0] === 'sh' && argv[1] === '-c' && argv[2]?.includes(marker)) found.push(Number(name));
  }
  return found;
}

/** cgroup dirs (any hierarchy, a few levels deep) whose name starts with `prefix`. */
export async function cgroupsNamed(prefix: string, dir = '/sys/fs/cgroup', depth = 4): Promise<string[]> {
  if (depth === 0) return [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith(prefix)) found.push(full);
    else found.push(...(await cgroupsNamed(prefix, full, depth - 1)));
  }
  return found;
}

/**
 * Names in the directory a mount covers (seen from a private mount namespace with the mount
 * taken off): on a hybrid cgroup host, an unmounted /sys/fs/cgroup/unified let crun leave its
 * cgroup dirs in /sys/fs/cgroup's tmpfs underneath, invisible from the host.
 */
export async function namesBeneathMount(mountpoint: string): Promise<string[]> {
  if (!existsSync(mountpoint)) return [];
  const script = 'umount "$1" 2>/dev/null && ls -A "$1"';
  const listed = await execa(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', mountpoint],
    { reject: false },
  );
  return listed.exitCode === 0 ? listed.stdout.split('\n').filter((name) => name !== '') : [];
}

/** Where libcap2-bin installs setcap (and getcap, used on the host). */
const SETCAP = '/usr/sbin/setcap';

/**
 * A layer with the host's setcap and the shared libraries it loads, at their host paths, so a
 * busybox step can set a file capability. Installs libcap2-bin when missing.
 */
export async function capabilityToolLayer(dir: string): Promise<string> {
  if (existsSync(path.join(dir, SETCAP))) return dir;
  if (!existsSync(SETCAP)) await execa('apt-get', ['install', '-y', '--no-install-recommends', 'libcap2-bin']);
  const files = [SETCAP, ...(await sharedLibraries(SETCAP))];
  for (const file of files) {
    const target = path.join(dir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(file, target);
    await chmod(target, 0o755);
  }
  return dir;
}

/** Absolute paths of the libraries `ldd` lists for `binary` (the loader included). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [binary]);
  const paths = stdout
    .split('\n')
    .map((line) => /(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((file): file is string => !!file);
  return [...new Set(paths)];
}

/** Polls `check` every 20 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
