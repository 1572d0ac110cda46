/**
 * A streaming tar reader for layers: ustar, PAX (local and global, binary-safe values), GNU long
 * names. Yields each entry's header and a body iterator; unread body bytes are skipped.
 */
import type { Readable } from 'node:stream';
import { blockSize, xattrPaxPrefix, type TarEntryType, type TarHeader } from './tar-format.js';

/** One entry: its header and its body (exactly `header.size` bytes; may be left unread). */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/** Thrown for malformed tar data; the caller adds which archive it was. */
export class TarFormatError extends Error {}

/** Extension bodies (PAX, GNU long names) are held in memory, so they are capped. */
const maxExtensionBytes = 1024 * 1024;

const typeByFlag: Record<string, TarEntryType> = {
  '0': 'file',
  '\u0000': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

/** Reads the entries of the tar in `stream`, in order. */
export async function* readTar(stream: Readable | AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  let globalPax = new Map<string, Buffer>();
  let localPax = new Map<string, Buffer>();
  for (;;) {
    const block = await reader.readExact(blockSize);
    if (block === null || block.every((byte) => byte === 0)) return;
    const raw = parseUstar(block);
    if (['x', 'g', 'L', 'K'].includes(raw.flag)) {
      if (raw.size > maxExtensionBytes) throw new TarFormatError(`extension header of ${raw.size} bytes is too large`);
      const data = (await reader.readExact(raw.size)) ?? Buffer.alloc(0);
      await reader.skip(padding(raw.size));
      if (raw.flag === 'g') globalPax = new Map([...globalPax, ...parsePax(data)]);
      else if (raw.flag === 'x') localPax = new Map([...localPax, ...parsePax(data)]);
      else localPax.set(raw.flag === 'L' ? 'path' : 'linkpath', trimNul(data));
      continue;
    }
    const type = typeByFlag[raw.flag];
    if (type === undefined)
      throw new TarFormatError(`entry ${JSON.stringify(raw.name)} has unsupported type ${JSON.stringify(raw.flag)}`);
    const header = applyPax({ ...raw, type }, new Map([...globalPax, ...localPax]));
    localPax = new Map();
    const bodySize = type === 'file' ? header.size : 0;
    let remaining = bodySize;
    const body = (async function* () {
      for await (const chunk of reader.readChunks(remaining)) {
        remaining -= chunk.length;
        yield chunk;
      }
    })();
    yield { header, body };
    await reader.skip(remaining);
    // Lenient on purpose: some writers (umoci insert) end right after the last body, without
    // padding or end blocks. Every byte of content is there, so treat that as the end.
    if (!(await reader.skipUpTo(padding(bodySize)))) return;
  }
}

interface RawHeader extends Omit<TarHeader, 'type' | 'xattrs'> {
  flag: string;
}

function parseUstar(block: Buffer): RawHeader {
  if (!checksumMatches(block)) throw new TarFormatError('bad header checksum (not a tar, or corrupt)');
  const isUstar = block.toString('latin1', 257, 262) === 'ustar';
  const prefix = isUstar ? readString(block, 345, 155) : '';
  const name = readString(block, 0, 100);
  return {
    name: prefix === '' ? name : `${prefix}/${name}`,
    flag: String.fromCharCode(block[156] ?? 0),
    mode: readNumber(block, 100, 8),
    uid: readNumber(block, 108, 8),
    gid: readNumber(block, 116, 8),
    size: readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    linkname: readString(block, 157, 100),
    devmajor: readNumber(block, 329, 8),
    devminor: readNumber(block, 337, 8),
  };
}

/** The checksum counts its own field as spaces; the block is a view into shared input, so no writes. */
function checksumMatches(block: Buffer): boolean {
  let sum = 8 * 0x20;
  for (let i = 0; i < blockSize; i++) if (i < 148 || i >= 156) sum += block[i] ?? 0;
  try {
    return readNumber(block, 148, 8) === sum;
  } catch {
    return false;
  }
}

function applyPax(header: RawHeader & { type: TarEntryType }, pax: Map<string, Buffer>): TarHeader {
  const xattrs: Record<string, Buffer> = {};
  const result: TarHeader = { ...header, xattrs };
  for (const [key, value] of pax) {
    if (key.startsWith(xattrPaxPrefix)) xattrs[key.slice(xattrPaxPrefix.length)] = value;
    else if (key === 'path') result.name = value.toString('utf8');
    else if (key === 'linkpath') result.linkname = value.toString('utf8');
    else if (key === 'size' || key === 'uid' || key === 'gid' || key === 'mtime') {
      const parsed = Math.floor(Number(value.toString('ascii')));
      if (!Number.isFinite(parsed)) throw new TarFormatError(`bad PAX ${key} for ${JSON.stringify(header.name)}`);
      result[key] = parsed;
    }
  }
  return result;
}

/** PAX records `"<len> <key>=<value>\n"`; values kept as raw bytes. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length && data[offset] !== 0) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.toString('ascii', offset, space));
    if (space === -1 || !Number.isInteger(length) || length <= 0 || offset + length > data.length) {
      throw new TarFormatError('malformed PAX record');
    }
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals === -1) throw new TarFormatError('malformed PAX record');
    records.set(record.toString('utf8', 0, equals), Buffer.from(record.subarray(equals + 1)));
    offset += length;
  }
  return records;
}

function readString(block: Buffer, offset: number, width: number): string {
  return trimNul(block.subarray(offset, offset + width)).toString('utf8');
}

function trimNul(data: Buffer): Buffer {
  const end = data.indexOf(0);
  return end === -1 ? data : data.subarray(0, end);
}

/** Octal (space/NUL terminated) or GNU base-256 (high bit set) numbers. */
function readNumber(block: Buffer, offset: number, width: number): number {
  const field = block.subarray(offset, offset + width);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text =
    field
      .toString('ascii')
      .replace(/[\u0000 ]+/g, ' ')
      .trim()
      .split(' ')[0] ?? '';
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad numeric header field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function padding(size: number): number {
  return (blockSize - (size % blockSize)) % blockSize;
}

/** Exact-length reads over an async iterator of chunks. */
class ByteReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Exactly `n` bytes; null at a clean end of input; throws on a truncated read. */
  async readExact(n: number): Promise<Buffer | null> {
    while (this.buffer.length < n && !this.ended) await this.pull();
    if (this.buffer.length === 0 && n > 0 && this.ended) return null;
    if (this.buffer.length < n) throw new TarFormatError('unexpected end of archive');
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Up to `n` bytes as they arrive. */
  async *readChunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffer.length === 0) {
        if (this.ended) throw new TarFormatError('unexpected end of archive');
        await this.pull();
        continue;
      }
      const take = Math.min(left, this.buffer.length);
      const out = this.buffer.subarray(0, take);
      this.buffer = this.buffer.subarray(take);
      left -= take;
      yield out;
    }
  }

  /** Skips `n` bytes; false when the input ended first (nothing left at all). */
  async skipUpTo(n: number): Promise<boolean> {
    while (this.buffer.length < n && !this.ended) await this.pull();
    const take = Math.min(n, this.buffer.length);
    this.buffer = this.buffer.subarray(take);
    return take === n;
  }

  async skip(n: number): Promise<void> {
    for await (const chunk of this.readChunks(n)) void chunk;
  }

  private async pull(): Promise<void> {
    const next = await this.source.next();
    if (next.done) this.ended = true;
    else this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
  }
}
