/**
 * A small cross-process lock: a lock file created with O_EXCL. Enough to serialise the
 * read-modify-write of `index.json` between two tzbuild processes sharing a store.
 */
import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../errors.js';

/** A lock held longer than this is assumed to belong to a crashed process and is broken. */
const staleAfterMs = 30_000;
const giveUpAfterMs = 60_000;

/** Runs `work` while holding the lock file `lockPath`; always releases it. */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  await acquire(lockPath);
  try {
    return await work();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function acquire(lockPath: string): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await breakIfStale(lockPath);
    if (Date.now() - started > giveUpAfterMs) {
      throw new StoreError(`timed out waiting for lock ${lockPath}`, 'LOCK_TIMEOUT');
    }
    // Short jittered backoff: contention here is brief (one small JSON rewrite).
    await sleep(Math.min(5 + attempt * 5, 100) + Math.random() * 5);
  }
}

async function breakIfStale(lockPath: string): Promise<void> {
  try {
    const info = await stat(lockPath);
    if (Date.now() - info.mtimeMs > staleAfterMs) await rm(lockPath, { force: true });
  } catch {
    // Gone already: the next attempt will take it.
  }
}
