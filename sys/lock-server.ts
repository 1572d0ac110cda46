/**
 * flock(2) for Node through one helper process: Node has no flock, and a `flock(1)` child per
 * acquisition costs three execs on every missed step (step lock, snapshot lock). One small Perl
 * process per tzbuild process holds all of its locks instead, each on its own open file
 * description (so two holders in this process exclude each other as two processes would).
 *
 * The helper is helpers/lock-server.pl; its protocol is lock-protocol.ts. A timeout is a cancel
 * sent when our timer fires. When tzbuild dies, the helper reads EOF and exits, and the kernel
 * drops every lock it held: no stale lock, SIGKILL included.
 * Perl is there wherever the namespace runner works (perl-base is essential on Debian).
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StoreError } from '../core/errors.js';
import { helperFile } from './helper-files.js';
import { encodeLockRequest, lockablePath, parseLockAnswer, type LockAnswer } from './lock-protocol.js';
import { childProcess, executable } from './processes.js';

type Helper = ChildProcessByStdio<Writable, Readable, null>;

let helper: Helper | undefined;
let nextId = 1;
const waiting = new Map<number, (answer: LockAnswer) => void>();

/**
 * Asks the helper for the lock on `file`: `waitMs` -1 waits as long as it takes, 0 not at all,
 * more gives up (cancels the request) after that many ms. Resolves once the lock is held (`ok`),
 * or is busy past the wait.
 */
export function requestLock(
  file: string,
  shared: boolean,
  waitMs: number,
): { id: number; answer: Promise<LockAnswer> } {
  if (!lockablePath(file))
    throw new StoreError(`cannot lock ${JSON.stringify(file)}: newline or NUL in the path`, 'LOCK_FAILED');
  const id = nextId++;
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<LockAnswer>((resolve) => waiting.set(id, resolve)).finally(() => clearTimeout(timer));
  const server = ensureHelper();
  keepAliveWhileWaiting(server);
  server.stdin.write(encodeLockRequest({ kind: 'lock', id, shared, wait: waitMs !== 0, path: file }));
  // Granted before the timer fires: the cancel finds nothing pending and the answer stays `ok`.
  if (waitMs > 0) timer = setTimeout(() => cancelLockRequest(id), waitMs);
  return { id, answer };
}

/** Gives up waiting for request `id`: its answer becomes `busy` unless the lock was already granted. */
export function cancelLockRequest(id: number): void {
  helper?.stdin.write(encodeLockRequest({ kind: 'cancel', id }));
}

/**
 * Releases a lock `requestLock` answered `ok` for, without waiting for the helper's answer: it
 * handles our lines in order, so any later request of this process comes after the release, and
 * another process gets the lock a moment later. A missed step takes a lock and releases it: this
 * saves one of its two round trips. (If the helper died, the kernel released everything it held.)
 */
export async function releaseLock(id: number): Promise<void> {
  helper?.stdin.write(encodeLockRequest({ kind: 'release', id }));
}

function ensureHelper(): Helper {
  if (helper !== undefined) return helper;
  const child = childProcess().spawn(executable('perl'), [helperFile('lock-server.pl')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let pendingText = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pendingText += chunk;
    let newline: number;
    while ((newline = pendingText.indexOf('\n')) >= 0) {
      answer(pendingText.slice(0, newline));
      pendingText = pendingText.slice(newline + 1);
    }
    keepAliveWhileWaiting(child);
  });
  const fail = (message: string) => {
    helper = undefined;
    for (const [id, resolve] of waiting) {
      waiting.delete(id);
      resolve({ kind: 'error', message });
    }
  };
  child.once('error', (error) => fail(`the lock helper (perl) could not start: ${error.message}`));
  child.once('exit', (code, signal) => fail(`the lock helper exited (${signal ?? code})`));
  // A write after the helper died must not crash tzbuild: the exit handler answers the requests.
  child.stdin.on('error', () => undefined);
  // Held locks need no event loop: the process may exit and the kernel releases them.
  child.unref();
  helper = child;
  return child;
}

function answer(line: string): void {
  const parsed = parseLockAnswer(line);
  if (parsed === undefined) return;
  const resolve = waiting.get(parsed.id);
  if (resolve === undefined) return;
  waiting.delete(parsed.id);
  resolve(parsed.answer);
}

/** The helper's pipes keep Node running only while some request waits for an answer. */
function keepAliveWhileWaiting(child: Helper): void {
  const stdout = child.stdout as Readable & { ref?: () => void; unref?: () => void };
  const stdin = child.stdin as Writable & { ref?: () => void; unref?: () => void };
  if (waiting.size > 0) stdout.ref?.();
  else stdout.unref?.();
  stdin.unref?.();
}
