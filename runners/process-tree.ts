/**
 * Just enough /proc reading to find and kill the init of a step's pid namespace: killing that one
 * process makes the kernel kill every other process in the namespace.
 */
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Host pids whose parent is `pid`. */
export async function childPids(pid: number): Promise<number[]> {
  const names = await readdir('/proc');
  const children: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // The command name may contain spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) children.push(Number(name));
  }
  return children;
}

/** True while `pid` exists (a zombie still counts: it has not been reaped). */
export async function isAlive(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    () => true,
    () => false,
  );
}

/** Sends SIGKILL, ignoring processes that are already gone. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Waits until every pid is gone, up to `timeoutMs`; returns the ones still alive. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = [...pids];
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(20);
    const checks = await Promise.all(alive.map(async (pid) => ((await isAlive(pid)) ? pid : -1)));
    alive = checks.filter((pid) => pid >= 0);
  }
  return alive;
}
