/**
 * Turning a failed write into one clear line. A full disk or a failing device is not a bug: the
 * user sees what tzbuild was writing and where, e.g. `no space left on device while writing blob
 * to /var/lib/tzbuild/ingest (free some space or run tzbuild builder prune)`.
 */
import { StoreError } from '../core/errors.js';

const hints: Record<string, { what: string; code: string; hint: string }> = {
  ENOSPC: {
    what: 'no space left on device',
    code: 'STORE_FULL',
    hint: 'free some space or run `tzbuild builder prune`',
  },
  EDQUOT: { what: 'disk quota exceeded', code: 'STORE_FULL', hint: 'free some space or run `tzbuild builder prune`' },
  EIO: { what: 'I/O error', code: 'STORE_IO', hint: 'check the disk, then run `tzbuild system fsck`' },
  EROFS: { what: 'read-only file system', code: 'STORE_IO', hint: 'the store must be writable' },
};

/**
 * A StoreError naming `doing` (e.g. `writing blob to /x/ingest`) when `err` is a full disk or an
 * I/O error; any other error is returned unchanged.
 */
export function storeWriteError(err: unknown, doing: string): unknown {
  // applyLayer wraps what failed in a StoreError naming the entry: the errno is in its cause.
  const errno =
    err instanceof StoreError
      ? (err.cause as NodeJS.ErrnoException | undefined)
      : (err as NodeJS.ErrnoException | undefined);
  const code = errno?.code;
  const known = typeof code === 'string' ? hints[code] : undefined;
  if (known === undefined) return err;
  return new StoreError(`${known.what} while ${doing} (${known.hint})`, known.code, { cause: err });
}

/** Runs `work`, rethrowing a full disk or I/O error as a StoreError about `doing`. */
export async function writingTo<T>(doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw storeWriteError(err, doing);
  }
}
