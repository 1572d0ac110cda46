/**
 * Containers a killed tzbuild left running. The OCI runner keeps runc's state in the step's scratch
 * dir (`tmp/<owner>/…/state/<id>/state.json`); when tzbuild dies by SIGKILL mid-step, its
 * supervisor dies too (pdeathsig) but a detached container runs on, in its cgroups. Recovery reads
 * those state files under a dead owner's dir, kills each container's init if it is still the same
 * process (pid and start time), and removes its now-empty cgroups, before the dir is deleted.
 */
import { readFile, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { processStartTime } from './file-lock.js';

/** The fields of runc's state.json we use. */
interface RuncState {
  id?: string;
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
}

/** Stops the containers whose state lies under `dir` (a dead owner's scratch); returns how many. */
export async function stopOrphanedContainers(dir: string): Promise<number> {
  let stopped = 0;
  for (const file of await stateFiles(dir)) {
    const state = await readFile(file, 'utf8').then((text) => JSON.parse(text) as RuncState, () => undefined);
    if (state?.id === undefined) continue;
    const pid = state.init_process_pid;
    if (pid !== undefined && pid > 1 && processStartTime(pid) === String(state.init_process_start)) {
      try {
        // The container's init: its pid namespace (the whole step) dies with it.
        process.kill(pid, 'SIGKILL');
        stopped++;
      } catch {
        // Gone meanwhile.
      }
      await waitGone(pid, String(state.init_process_start));
    }
    for (const cgroup of Object.values(state.cgroup_paths ?? {})) {
      // Only the container's own leaf cgroups, never anything else a corrupt file might name.
      if (!cgroup.startsWith('/sys/fs/cgroup/') || path.basename(cgroup) !== state.id) continue;
      await removeWhenEmpty(cgroup);
    }
  }
  return stopped;
}

/** `…/state/<id>/state.json` files up to four levels below `dir`. */
async function stateFiles(dir: string, depth = 4): Promise<string[]> {
  if (depth === 0) return [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.isFile() && entry.name === 'state.json' && path.basename(path.dirname(path.dirname(path.join(dir, entry.name)))) === 'state') {
      found.push(path.join(dir, entry.name));
    } else if (entry.isDirectory()) {
      found.push(...(await stateFiles(path.join(dir, entry.name), depth - 1)));
    }
  }
  return found;
}

async function waitGone(pid: number, start: string): Promise<void> {
  for (let waited = 0; waited < 5_000 && processStartTime(pid) === start; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** rmdir, retried briefly while the cgroup's last processes are still exiting. */
async function removeWhenEmpty(cgroup: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const code = await rmdir(cgroup).then(() => undefined, (error: NodeJS.ErrnoException) => error.code);
    if (code === undefined || code === 'ENOENT') return;
    if (code !== 'EBUSY') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
