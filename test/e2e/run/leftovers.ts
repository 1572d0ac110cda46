/**
 * What a build may leave in the store's tmp dir: nothing but step logs and (empty) per-process
 * scratch dirs. Upperdirs, views, runtime state and secrets all live there while a step runs.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Entries under `STORE/tmp` (one level into per-process `<pid>.<start>` dirs), step logs aside. */
export async function tmpLeftovers(store: string): Promise<string[]> {
  const tmp = path.join(store, 'tmp');
  const found: string[] = [];
  for (const name of await readdir(tmp)) {
    if (name === 'logs') continue;
    if (!/^\d+\.\d+$/.test(name)) {
      found.push(name);
      continue;
    }
    const inner = await readdir(path.join(tmp, name)).catch(() => [] as string[]);
    found.push(...inner.map((entry) => `${name}/${entry}`));
  }
  return found;
}
