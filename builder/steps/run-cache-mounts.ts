/**
 * The persistent directories behind `RUN --mount=type=cache`: `STORE/cache-mounts/<hash of id and
 * platform>/<instance>/`, kept across builds and never part of a layer.
 *
 * Sharing, as BuildKit: `shared` lets every step use instance 0 at once; `locked` makes steps
 * with the same id take turns on it; `private` gives each concurrent user its own instance (the
 * first one nobody holds). Locks are flock(2) locks on `<instance>.lock` (sys/file-lock.ts), held
 * for as long as the step runs: the kernel releases them if we die, so a crash never leaves a
 * stale lock, and they work between tzbuild processes sharing a store as well as
 * between the parallel stages of one build.
 */
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { acquireLock, type HeldLock, type LockOptions } from '../../sys/file-lock.js';
import { UserError } from '../../core/errors.js';

/** What identifies and shapes one cache. */
export interface CacheMountRequest {
  id: string;
  platform: string;
  sharing: 'shared' | 'private' | 'locked';
  uid: number;
  gid: number;
  /** Permission bits of the cache's root when it is created (default 0755). */
  mode: number;
  /** Fills a new cache (the `from` stage or image); called with the new dir. */
  seed?: (dir: string) => Promise<void>;
  signal?: AbortSignal;
}

/** A cache directory in use; `release` ends the use (and any lock). */
export interface HeldCacheMount {
  dir: string;
  release(): Promise<void>;
}

/** Instances `private` tries before giving up (one per concurrent user). */
const maxPrivateInstances = 64;

/** Takes the cache for one step, waiting for its lock when `sharing` is `locked`. */
export async function acquireCacheMount(root: string, request: CacheMountRequest): Promise<HeldCacheMount> {
  const home = path.join(
    root,
    createHash('sha256')
      .update(JSON.stringify([request.id, request.platform]))
      .digest('hex')
      .slice(0, 32),
  );
  await mkdir(home, { recursive: true, mode: 0o700 });
  if (request.sharing === 'shared')
    return { dir: await ensureInstance(home, 0, request), release: async () => undefined };
  if (request.sharing === 'locked') {
    const lock = (await acquireLock(path.join(home, '0.lock'), lockOptions(request))) as HeldLock;
    return held(await ensureInstance(home, 0, request).catch(releaseOnError(lock)), lock);
  }
  for (let instance = 0; instance < maxPrivateInstances; instance++) {
    const lock = await acquireLock(path.join(home, `${instance}.lock`), { ...lockOptions(request), noWait: true });
    if (lock !== undefined)
      return held(await ensureInstance(home, instance, request).catch(releaseOnError(lock)), lock);
  }
  throw new UserError(
    `cache mount ${request.id}: more than ${maxPrivateInstances} steps use it privately at once`,
    'CACHE_MOUNT',
  );
}

function held(dir: string, lock: HeldLock): HeldCacheMount {
  return { dir, release: () => lock.release() };
}

function releaseOnError(lock: HeldLock): (error: unknown) => Promise<never> {
  return async (error) => {
    await lock.release();
    throw error;
  };
}

/** The instance's dir, created (owner, mode, seed) on first use; a concurrent creator's wins. */
async function ensureInstance(home: string, instance: number, request: CacheMountRequest): Promise<string> {
  const dir = path.join(home, String(instance));
  if ((await readdir(home)).includes(String(instance))) return dir;
  const fresh = await mkdtemp(path.join(home, `${instance}.new-`));
  try {
    await chown(fresh, request.uid, request.gid);
    await chmod(fresh, request.mode);
    await request.seed?.(fresh);
    await rename(fresh, dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
  return dir;
}

/** Waiting for a cache lock ends with the build (cancellation). */
function lockOptions(request: CacheMountRequest): LockOptions {
  return request.signal ? { signal: request.signal } : {};
}
