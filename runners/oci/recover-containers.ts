/**
 * Containers a killed tzbuild left running. The OCI runner keeps the runtime's state in the
 * step's scratch dir (`tmp/<owner>/…/state/<id>/state.json` for runc, `…/<id>/status` for crun);
 * when tzbuild dies by SIGKILL mid-step, its supervisor dies too (pdeathsig) but a detached
 * container runs on, in its cgroups. Recovery reads those files under a dead owner's dir, kills
 * each container's init if it is still the same process (pid and start time), and removes its
 * now-empty cgroups, before the dir is deleted. (A build that died after its step ended but before
 * the runner tidied it leaves only the cgroups: they go the same way.)
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readContainerRecord, removeCgroups } from './container-record.js';
import { processStartTime } from '../../sys/file-lock.js';

/** Stops the containers whose state lies under `dir` (a dead owner's scratch); returns how many. */
export async function stopOrphanedContainers(dir: string): Promise<number> {
  let stopped = 0;
  for (const file of await stateFiles(dir)) {
    const container = await readContainerRecord(file);
    if (container === undefined) continue;
    const { pid, start } = container;
    if (pid !== undefined && pid > 1 && start !== undefined && processStartTime(pid) === start) {
      try {
        // The container's init: its pid namespace (the whole step) dies with it.
        process.kill(pid, 'SIGKILL');
        stopped++;
      } catch {
        // Gone meanwhile.
      }
      await waitGone(pid, start);
    }
    await removeCgroups(container.cgroups, 1_000);
  }
  return stopped;
}

/** `…/state/<id>/state.json` (runc) and `…/state/<id>/status` (crun) files up to four levels below `dir`. */
async function stateFiles(dir: string, depth = 4): Promise<string[]> {
  if (depth === 0) return [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (
      entry.isFile() &&
      (entry.name === 'state.json' || entry.name === 'status') &&
      path.basename(path.dirname(dir)) === 'state'
    ) {
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
