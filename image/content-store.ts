/**
 * ContentStore over the `blobs/sha256/` directory of an OCI layout. Every write lands in
 * `ingest/` first, is hashed while it is written, fsynced, checked against the expected digest and
 * only then renamed into `blobs/`, so a blob path never holds unverified or torn bytes.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StoreError } from '../errors.js';
import type { ContentStore } from '../ports.js';
import { digestHex, HashingStream } from './digest.js';
import { storeWriteError } from './io-errors.js';
import { initStoreLayout, type StoreLayout } from './layout.js';
import { processLease } from './lease.js';
import type { Digest } from './oci.js';
import { ownerId } from './file-lock.js';

const defaultJsonLimit = 4 * 1024 * 1024;

/** A ContentStore on the local filesystem. Build one with {@link FsContentStore.open}. */
export class FsContentStore implements ContentStore {
  private constructor(private readonly layout: StoreLayout) {}

  /** Opens (creating when needed) the store rooted at `root`. */
  static async open(root: string): Promise<FsContentStore> {
    return new FsContentStore(await initStoreLayout(root));
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
    try {
      return (await stat(blob)).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async size(digest: Digest): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (err) {
      if (isNotFound(err)) throw missingBlob(digest);
      throw err;
    }
  }

  async putBytes(data: Uint8Array | string): Promise<{ digest: Digest; size: number }> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.putStream(Readable.from([bytes]));
  }

  async putStream(stream: Readable, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    if (expected !== undefined) digestHex(expected);
    // Named after its owner, so recovery can tell a dead build's partial ingest from a live one's.
    const ingestPath = path.join(this.layout.ingest, `${ownerId()}-${randomBytes(8).toString('hex')}`);
    try {
      const hashing = new HashingStream();
      await pipeline(stream, hashing, createWriteStream(ingestPath, { flags: 'wx' })).catch((err: unknown) => {
        throw storeWriteError(err, `writing a blob to ${this.layout.ingest}`);
      });
      await fsyncFile(ingestPath).catch((err: unknown) => {
        throw storeWriteError(err, `writing a blob to ${this.layout.ingest}`);
      });
      const digest = hashing.digest();
      if (expected !== undefined && digest !== expected) {
        throw new StoreError(`content mismatch: expected ${expected}, got ${digest}`, 'DIGEST_MISMATCH');
      }
      // Leased before it becomes visible, so a concurrent prune cannot take it before we reference it.
      await processLease(this.root).add('blob', digest);
      // Same name means same bytes, so renaming over an existing blob is harmless and atomic.
      await rename(ingestPath, this.blobPath(digest));
      return { digest, size: hashing.bytes };
    } finally {
      await rm(ingestPath, { force: true });
    }
  }

  async getJson<T>(digest: Digest, maxBytes = defaultJsonLimit): Promise<T> {
    const size = await this.size(digest);
    if (size > maxBytes) {
      throw new StoreError(`blob ${digest} is ${size} bytes, over the ${maxBytes}-byte limit for JSON`, 'BLOB_TOO_LARGE');
    }
    const text = await readFile(this.blobPath(digest), 'utf8');
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new StoreError(`blob ${digest} is not valid JSON`, 'BAD_JSON', { cause: err });
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

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
