/**
 * Cross-process locks and lock owners.
 *
 * Locks have flock(2) semantics: the kernel drops the lock the moment its holder dies, SIGKILL
 * included, so there is no stale lock to detect or break. Node has no flock: one helper process
 * per tzbuild process holds them (lock-server.ts) and exits when we do. Callers still lock only
 * around real work (a step that missed, an unpack, a tag update, a GC), never on a cache hit.
 * Shared locks exclude only exclusive holders.
 * Lock files stay (empty): deleting a flock'd path would let two processes lock two different files.
 *
 * Owners: leases, scratch dirs and partial writes are named after their process as
 * `<pid>.<start time>` (clock ticks since boot, from /proc/<pid>/stat, which tells a live owner
 * from a later process that reused the pid). Recovery removes what belongs to dead owners and
 * never touches a live one's. Owners are checked in this pid namespace: processes sharing a store
 * from different pid namespaces look dead to each other, so they must not share a store root.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from '../core/errors.js';
import { cancelLockRequest, releaseLock, requestLock } from './lock-server.js';

/** Options for {@link acquireLock}. */
export interface LockOptions {
  /** Take a shared (read) lock instead of an exclusive one. */
  shared?: boolean;
  /** Do not wait: resolve to undefined when someone else holds the lock. */
  noWait?: boolean;
  /** Give up (StoreError LOCK_TIMEOUT) after this many ms; default: wait as long as the holder lives. */
  timeoutMs?: number;
  /** Stop waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** A lock this process holds. */
export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the lock on `file` (created when missing); undefined only with `noWait` when busy. */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<HeldLock | undefined> {
  mkdirSync(path.dirname(file), { recursive: true });
  const waitMs = options.noWait ? 0 : options.timeoutMs === undefined ? -1 : Math.max(options.timeoutMs, 1);
  options.signal?.throwIfAborted();
  const { id, answer } = requestLock(file, options.shared === true, waitMs);
  const cancel = () => cancelLockRequest(id);
  options.signal?.addEventListener('abort', cancel, { once: true });
  const outcome = await answer.finally(() => options.signal?.removeEventListener('abort', cancel));
  if (options.signal?.aborted) {
    if (outcome.kind === 'ok') await releaseLock(id);
    options.signal.throwIfAborted();
  }
  if (outcome.kind === 'ok') {
    let released: Promise<void> | undefined;
    return { release: () => (released ??= releaseLock(id)) };
  }
  if (outcome.kind === 'busy' && options.noWait) return undefined;
  if (outcome.kind === 'busy') throw new StoreError(`timed out waiting for lock ${file}`, 'LOCK_TIMEOUT');
  throw new StoreError(`cannot lock ${file}: ${outcome.message}`, 'LOCK_FAILED');
}

/** Runs `work` holding the lock on `file`; always releases it. */
export async function withLock<T>(
  file: string,
  work: () => Promise<T>,
  options: Omit<LockOptions, 'noWait'> = {},
): Promise<T> {
  const lock = (await acquireLock(file, options)) as HeldLock;
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/** A tag update is one small JSON rewrite: waiting a minute means something is badly wrong. */
const indexLockTimeoutMs = 60_000;

/** Runs `work` holding the lock on `lockPath` (the `index.json` lock); gives up after a minute. */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  return withLock(lockPath, work, { timeoutMs: indexLockTimeoutMs });
}

// ───────────────────────────────────────────── owners ──

/** `<pid>.<starttime>` names, as {@link ownerId} produces them. */
const ownerPattern = /^(\d+)\.(\d+)$/;

/** Start time (clock ticks since boot) of `pid`, or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Field 22 (starttime) is the 20th after the name; a zombie has exited (its locks are gone).
  if (fields[0] === 'Z') return undefined;
  return fields[19];
}

let selfId: string | undefined;

/** This process's owner id, `<pid>.<starttime>`. */
export function ownerId(): string {
  selfId ??= `${process.pid}.${processStartTime(process.pid) ?? '0'}`;
  return selfId;
}

/**
 * Whether `name` starts with an owner id (`<pid>.<start>` alone or followed by `-…`); returns the
 * id or undefined for names made otherwise.
 */
export function ownerOf(name: string): string | undefined {
  const id = name.split('-', 1)[0] ?? '';
  return ownerPattern.test(id) ? id : undefined;
}

/** True when the process named by `id` is still running (same pid, same start time). */
export function isOwnerAlive(id: string): boolean {
  const match = ownerPattern.exec(id);
  if (match === null) return false;
  if (id === ownerId()) return true;
  return processStartTime(Number(match[1])) === match[2];
}
