/**
 * The lock server's protocol (helpers/lock-server.pl, started by lock-server.ts): one line each
 * way on its stdin and stdout, ids chosen by tzbuild.
 *
 * tzbuild sends `L <id> <x|s> <w|n> <path>` (lock), `U <id>` (release) and `C <id>` (cancel);
 * the server answers a lock with `ok <id>`, `busy <id>` or `err <id> <message>`. A release has no
 * answer (nothing waits for it). A cancel of a request still waiting answers `busy <id>`, one
 * already granted or answered answers nothing. At EOF the server exits (the kernel then drops
 * every lock it held).
 */

/** A line tzbuild sends. */
export type LockRequest =
  | {
      kind: 'lock';
      /** Names the lock in later `U`/`C` lines and in the answer; unique per server. */
      id: number;
      /** `s`: a shared lock (LOCK_SH); `x`: exclusive (LOCK_EX). */
      shared: boolean;
      /** `w`: wait until the lock is free (the server retries); `n`: answer `busy` at once. */
      wait: boolean;
      /** The lock file, created when missing; no newline or NUL (the rest of the line). */
      path: string;
    }
  | {
      kind: 'release';
      /** A lock answered `ok`. */
      id: number;
    }
  | {
      kind: 'cancel';
      /** A lock request that may still be waiting. */
      id: number;
    };

/** What a lock request ends in. */
export type LockAnswer = { kind: 'ok' } | { kind: 'busy' } | { kind: 'error'; message: string };

/** `request` as the line the server reads, newline included. */
export function encodeLockRequest(request: LockRequest): string {
  switch (request.kind) {
    case 'lock':
      return `L ${request.id} ${request.shared ? 's' : 'x'} ${request.wait ? 'w' : 'n'} ${request.path}\n`;
    case 'release':
      return `U ${request.id}\n`;
    case 'cancel':
      return `C ${request.id}\n`;
  }
}

/** True when `file` fits in a request line. */
export function lockablePath(file: string): boolean {
  return !/[\n\0]/.test(file);
}

/** One answer line (without its newline), or undefined for a line that is none. */
export function parseLockAnswer(line: string): { id: number; answer: LockAnswer } | undefined {
  const match = /^(ok|busy|err) (\d+)(?: (.*))?$/.exec(line);
  if (match === null) return undefined;
  const answer: LockAnswer =
    match[1] === 'ok'
      ? { kind: 'ok' }
      : match[1] === 'busy'
        ? { kind: 'busy' }
        : { kind: 'error', message: match[3] ?? 'unknown error' };
  return { id: Number(match[2]), answer };
}
