/**
 * ContentStore over the `blobs/sha256/` directory of an OCI layout. Every write lands in
 * `ingest/` first, is hashed while it is written, fsynced, checked against the expected digest and
 * only then renamed into `blobs/`, so a blob path never holds unverified or torn bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StoreError } from '../core/errors.js';
import type { ContentStore } from '../core/ports.js';
import { digestHex, sha256Digest } from '../core/digest.js';
import { parseJsonDocument } from '../core/oci-documents.js';
import { storeWriteError } from '../sys/io-errors.js';
import { initStoreLayout, storeLayout, type StoreLayout } from './layout.js';
import { processLease } from './lease.js';
import type { Digest } from '../core/oci.js';
import { ownerId } from '../sys/file-lock.js';

const defaultJsonLimit = 4 * 1024 * 1024;

/** A ContentStore on the local filesystem. Build one with {@link FsContentStore.open}. */
export class FsContentStore implements ContentStore {
  private constructor(private readonly layout: StoreLayout) {}

  /** Opens (creating when needed) the store rooted at `root`. */
  static async open(root: string): Promise<FsContentStore> {
    return new FsContentStore(await initStoreLayout(root));
  }

  /**
   * The store rooted at `root` for reading only: nothing is created (undefined when there is no
   * store there) and no lease is taken by its reads (`getJson`, `size`); not for writing.
   */
  static openForReading(root: string): FsContentStore | undefined {
    const layout = storeLayout(root);
    return existsSync(layout.index) ? new FsContentStore(layout) : undefined;
  }

  get root(): string {
    return this.layout.root;
  }

  blobPath(digest: Digest): string {
    return path.join(this.layout.blobs, digestHex(digest));
  }

  /**
   * Whether the blob is there. Asking counts as using it: the digest goes into this process's
   * lease first (see lease.ts), so a concurrent prune keeps what a build checked and then uses.
   */
  async has(digest: Digest): Promise<boolean> {
    const blob = this.blobPath(digest);
    await processLease(this.root).add('blob', digest);
    // stat and the small JSON reads below are synchronous: a cached build asks for every step,
    // and a direct call costs a fraction of a thread-pool round trip.
    try {
      return statSync(blob).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async size(digest: Digest): Promise<number> {
    try {
      return statSync(this.blobPath(digest)).size;
    } catch (err) {
      if (isNotFound(err)) throw missingBlob(digest);
      throw err;
    }
  }

  async putBytes(data: Uint8Array | string): Promise<{ digest: Digest; size: number }> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // A rebuild commits the same config and manifest again: when the blob already holds exactly
    // these bytes, skip the write and its fsync (has() leases it, as putStream would).
    const digest = sha256Digest(bytes);
    if ((await this.has(digest)) && (await sameBytes(this.blobPath(digest), bytes)))
      return { digest, size: bytes.length };
    return this.putStream(Readable.from([bytes]));
  }

  async putStream(stream: Readable, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    if (expected !== undefined) digestHex(expected);
    // Named after its owner, so recovery can tell a dead build's partial ingest from a live one's.
    const ingestPath = path.join(this.layout.ingest, `${ownerId()}-${randomBytes(8).toString('hex')}`);
    try {
      const { digest, size } = await writeHashed(stream, ingestPath).catch((err: unknown) => {
        throw storeWriteError(err, `writing a blob to ${this.layout.ingest}`);
      });
      if (expected !== undefined && digest !== expected) {
        throw new StoreError(`content mismatch: expected ${expected}, got ${digest}`, 'DIGEST_MISMATCH');
      }
      // Leased before it becomes visible, so a concurrent prune cannot take it before we reference it.
      await processLease(this.root).add('blob', digest);
      // Same name means same bytes, so renaming over an existing blob is harmless and atomic.
      await rename(ingestPath, this.blobPath(digest));
      return { digest, size };
    } finally {
      await rm(ingestPath, { force: true });
    }
  }

  async getJson<T>(digest: Digest, maxBytes = defaultJsonLimit): Promise<T> {
    const size = await this.size(digest);
    if (size > maxBytes) {
      throw new StoreError(
        `blob ${digest} is ${size} bytes, over the ${maxBytes}-byte limit for JSON`,
        'BLOB_TOO_LARGE',
      );
    }
    const text = readFileSync(this.blobPath(digest), 'utf8');
    try {
      // Depth-checked: a config from an image is walked recursively later (canonical JSON).
      return parseJsonDocument(text, `blob ${digest}`) as T;
    } catch (err) {
      throw new StoreError((err as Error).message.replace(/: not valid JSON$/, ' is not valid JSON'), 'BAD_JSON', {
        cause: err,
      });
    }
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async list(): Promise<Digest[]> {
    const names = await readdir(this.layout.blobs);
    return names.filter((name) => /^[a-f0-9]{64}$/.test(name)).map((hex) => `sha256:${hex}` as Digest);
  }
}

/**
 * Flush to disk in the background every this many bytes, so the disk writes while we still
 * produce data and the final fsync has little left to do (one fsync of a 335 MB layer at the end
 * used to add its whole write-back time to the step).
 */
const backgroundFlushBytes = 32 * 1024 * 1024;

/** Writes `stream` to a new file, hashing on the way; fsynced before it resolves. */
async function writeHashed(
  stream: AsyncIterable<Uint8Array | string>,
  file: string,
): Promise<{ digest: Digest; size: number }> {
  const handle = await open(file, 'wx');
  const hash = createHash('sha256');
  let size = 0;
  let unflushed = 0;
  let flushing: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      // Hashed while a pool thread writes it: one after the other, a 335 MB layer took twice as long.
      const writing = writeAll(handle, bytes);
      hash.update(bytes);
      await writing;
      size += bytes.length;
      unflushed += bytes.length;
      if (unflushed >= backgroundFlushBytes) {
        // At most one flush in flight: wait for the last one, then start the next.
        await flushing;
        flushing = handle.datasync();
        unflushed = 0;
      }
    }
    await flushing;
    await handle.sync();
  } finally {
    // A failed write must not leave an unhandled rejection behind.
    await flushing.catch(() => undefined);
    await handle.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** True when `file` holds exactly `bytes` (false when it is missing or unreadable). */
async function sameBytes(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(await readFile(file));
  } catch {
    return false;
  }
}

function missingBlob(digest: Digest): StoreError {
  return new StoreError(`blob not found: ${digest}`, 'BLOB_NOT_FOUND');
}

/** True for ENOENT (and ENOTDIR, which means the same for a lookup). */
export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
