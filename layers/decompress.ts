/**
 * Transparent decompression for layer and archive input: gzip (zlib), bzip2, xz and zstd (their
 * command-line tools through execa, imported only then; Node 20's zlib has no zstd), detected by
 * magic bytes, with a cap on the decompressed size so a small hostile blob cannot fill the disk.
 */
import { Readable } from 'node:stream';
import { StoreError } from '../core/errors.js';
import { throughCommand } from '../sys/command-stream.js';

/** Compression formats we recognise. */
export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Default cap on decompressed bytes (64 GiB): generous for real layers, finite for bombs. */
export const defaultMaxDecompressedBytes = 64 * 1024 ** 3;

/** Options for {@link decompress}. */
export interface DecompressOptions {
  /** Refuse to produce more than this many bytes. */
  maxBytes?: number;
  /** What the input is, for error messages (a file name, a layer digest). */
  label?: string;
}

/** Identifies the compression of a stream from its first bytes. */
export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return 'none';
}

/** The decompressed bytes of `input` (passed through unchanged when it is not compressed). */
export async function decompress(input: AsyncIterable<Buffer>, options: DecompressOptions = {}): Promise<Readable> {
  const { head, rest } = await peek(input, 6);
  const kind = detectCompression(head);
  const source = Readable.from(rest);
  const label = options.label ?? 'input';
  // zlib loads only for gzip input (a few ms a cached build need not pay).
  const plain =
    kind === 'none'
      ? source
      : kind === 'gzip'
        ? source.pipe((await import('node:zlib')).createGunzip())
        : viaCommand(kind, source, label);
  if (kind === 'gzip') source.on('error', (err) => plain.destroy(err));
  return Readable.from(capped(plain, options.maxBytes ?? defaultMaxDecompressedBytes, label, kind));
}

/** Reads at least `n` bytes (or all there is) and returns them with a stream of everything. */
async function peek(input: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const iterator = input[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const next = await iterator.next();
    if (next.done) break;
    seen.push(next.value);
    length += next.value.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* seen;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head: Buffer.concat(seen), rest: rest() };
}

const commands: Record<'bzip2' | 'xz' | 'zstd', string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

function viaCommand(kind: 'bzip2' | 'xz' | 'zstd', source: Readable, label: string): Readable {
  return throughCommand(commands[kind], ['-dc'], source, (cause) => {
    return new StoreError(`${label}: ${kind} decompression failed`, 'BAD_COMPRESSION', { cause });
  });
}

async function* capped(
  source: AsyncIterable<Buffer>,
  maxBytes: number,
  label: string,
  kind: Compression,
): AsyncGenerator<Buffer> {
  let total = 0;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new StoreError(`${label}: decompresses to more than ${maxBytes} bytes; refusing`, 'TOO_LARGE');
      }
      yield chunk;
    }
  } catch (err) {
    if (err instanceof StoreError || kind === 'none') throw err;
    throw new StoreError(`${label}: corrupt or truncated ${kind} data`, 'BAD_COMPRESSION', { cause: err });
  }
}
