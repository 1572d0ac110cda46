/**
 * Mounts under the store root, from /proc/self/mountinfo. Overlay views (builder/rootfs.ts) are
 * mounted in tzbuild's own mount namespace; a build killed with SIGKILL leaves them mounted, and
 * recovery unmounts those whose owner is dead before deleting their dirs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

/** Mount points (decoded absolute paths) at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // Not Linux: nothing is mounted by us.
  }
  const prefix = path.resolve(dir);
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (mountPoint === prefix || mountPoint.startsWith(`${prefix}/`)) found.add(mountPoint);
  }
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
function umount(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('umount', args, { stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code ?? -1));
  });
}
