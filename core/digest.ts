/**
 * Hashing and canonical JSON: the two things every content address in the store is made of.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { StoreError } from './errors.js';
import { isDigest, type Digest } from './oci.js';

/** sha256 digest of bytes, as `sha256:<hex>`. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest, after checking it is well formed (so it is safe as a path segment). */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new StoreError(`malformed digest: ${JSON.stringify(digest)}`, 'BAD_DIGEST');
  return digest.slice('sha256:'.length);
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  /** Bytes seen so far. */
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** The digest of everything seen; call once, after the stream ended. */
  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * Deterministic JSON: object keys sorted, no whitespace. Used for every blob we author (configs,
 * manifests) so that equal content always has the same bytes and therefore the same digest.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== undefined) sorted[key] = sortKeys(child);
  }
  return sorted;
}
