/**
 * Reading a big file in pieces with the next piece already being read (on the thread pool) while
 * the caller hashes or writes the current one: one after the other, a 300 MB file's reads and
 * its hashing or writing added up (docs/benchmarks.md).
 */
import { open } from 'node:fs/promises';

/**
 * The bytes of `file` in pieces of `pieceBytes` (the last one shorter): up to `limit` bytes, or to
 * its end, whichever comes first. The caller compares the total with what it expected.
 */
export async function* filePieces(
  file: string | Buffer,
  pieceBytes: number,
  limit = Number.POSITIVE_INFINITY,
): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  const readAt = async (position: number): Promise<Buffer> => {
    const piece = Buffer.allocUnsafe(Math.min(pieceBytes, limit - position));
    const { bytesRead } = await handle.read(piece, 0, piece.length, position);
    return bytesRead === piece.length ? piece : piece.subarray(0, bytesRead);
  };
  let next: Promise<Buffer> | undefined;
  try {
    next = readAt(0);
    let position = 0;
    while (next !== undefined) {
      const piece: Buffer = await next;
      if (piece.length === 0) break;
      position += piece.length;
      next = position < limit ? readAt(position) : undefined;
      yield piece;
    }
  } finally {
    // A read still in flight (the caller stopped early, or failed) must end before the file closes.
    await next?.catch(() => undefined);
    await handle.close();
  }
}
