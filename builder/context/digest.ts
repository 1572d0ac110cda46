/**
 * The content digest of COPY/ADD sources, for cache keys. It covers what lands in the layer:
 * path, type, permission bits, symlink target, extended attributes and content. It leaves out
 * what does not: mtime, atime, ctime and the owner (COPY sets uid/gid itself).
 */
import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { xattr } from '../../sys/xattr.js';
import { filePieces } from '../../sys/file-pieces.js';
import type { ContextEntry } from './walk.js';
import { cacheKey, type CachedHashes, type StatCache } from './stat-cache.js';

const EMPTY = Buffer.alloc(0);

/** Host-specific labels that say nothing about the content. */
const IGNORED_XATTRS = new Set(['security.selinux']);

/** Counters of one BuildContext, so callers (and tests) can see the stat cache working. */
export interface DigestStats {
  /** Regular files whose content was read and hashed. */
  filesHashed: number;
  /** Entries whose hashes came from the stat cache. */
  cacheHits: number;
}

/** The kind of an entry as it goes into the digest. */
export function entryType(stat: Stats): string {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  return 'socket';
}

/**
 * Files up to this size are read in one synchronous call: a context is mostly small files, and a
 * thread-pool round trip per file (or a stream per file) costs far more than reading it.
 */
const SMALL_FILE_BYTES = 1024 * 1024;

/** One reusable buffer for small files (the hashing is synchronous, so it is never shared). */
const smallFileBuffer = Buffer.allocUnsafe(SMALL_FILE_BYTES);

/**
 * sha256 of a file's content: small files in one read, big ones streamed in 1 MiB chunks. `keep`
 * sees a small file's bytes (a view of a shared buffer: copy what you keep).
 */
export async function hashFile(
  file: Buffer | string,
  size = Number.POSITIVE_INFINITY,
  keep?: (body: Buffer) => void,
): Promise<string> {
  if (size < SMALL_FILE_BYTES) {
    const small = hashSmallFile(file, keep);
    if (small !== undefined) return small;
  }
  const hash = createHash('sha256');
  for await (const piece of filePieces(file, SMALL_FILE_BYTES)) hash.update(piece);
  return hash.digest('hex');
}

/** Hashes the file in one read; undefined when it grew past the buffer since it was stat'ed. */
function hashSmallFile(file: Buffer | string, keep?: (body: Buffer) => void): string | undefined {
  const fd = openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      const read = readSync(fd, smallFileBuffer, length, SMALL_FILE_BYTES - length, null);
      if (read === 0) break;
      length += read;
      if (length === SMALL_FILE_BYTES) return undefined;
    }
    const body = smallFileBuffer.subarray(0, length);
    keep?.(body);
    return createHash('sha256').update(body).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * sha256 of the sorted xattrs ('' when none, or when the filesystem has no xattr support), and
 * whether the path has none at all (`bare`: a COPY then need not list them again).
 */
function hashXattrs(entry: ContextEntry): { xattrs: string; bare?: boolean } {
  // The xattr binding takes string paths only: a name that is not UTF-8 is hashed without xattrs.
  if (!isUtf8(entry.absBytes)) return { xattrs: '' };
  let names: string[];
  try {
    // Synchronous for the same reason as the small-file reads (one cheap syscall per file).
    names = xattr().listAttributesSync(entry.abs);
  } catch {
    return { xattrs: '' };
  }
  if (names.length === 0) return { xattrs: '', bare: true };
  names = names.filter((name) => !IGNORED_XATTRS.has(name)).sort();
  if (names.length === 0) return { xattrs: '' };
  const hash = createHash('sha256');
  for (const name of names) {
    const value = xattr().getAttributeSync(entry.abs, name) ?? Buffer.alloc(0);
    writeField(hash, Buffer.from(name));
    writeField(hash, value);
  }
  return { xattrs: hash.digest('hex') };
}

/** Sees the bytes of a small file that had to be hashed (a view of a shared buffer: copy what you keep). */
export type BodyKeeper = (entry: ContextEntry, body: Buffer) => void;

/** Whether the stat cache knows `entry`, unchanged since, to have no extended attribute at all. */
export function knownBare(entry: ContextEntry, cache: StatCache): boolean {
  return cache.get(cacheKey(entry.absBytes, entry.abs), entry.stat)?.bare === true;
}

/** Writes one length-prefixed field, so no two different entries can hash alike. */
function writeField(hash: Hash, value: Buffer | string): void {
  // A string is hashed as its UTF-8 bytes without copying it into a Buffer first.
  hash.update(`${typeof value === 'string' ? Buffer.byteLength(value) : value.length}:`);
  hash.update(value);
}

/** The same bytes as writeField for each string, in one update (a no-op build makes 20,000 of these). */
function stringFields(...values: string[]): string {
  let text = '';
  for (const value of values) text += `${Buffer.byteLength(value)}:${value}`;
  return text;
}

/** Content and xattr hashes of an entry, from the stat cache when its stat is unchanged. */
async function entryHashes(
  entry: ContextEntry,
  cache: StatCache,
  stats: DigestStats,
  keep: BodyKeeper | undefined,
): Promise<CachedHashes> {
  const key = cacheKey(entry.absBytes, entry.abs);
  const cached = cache.get(key, entry.stat);
  if (cached !== undefined) {
    stats.cacheHits++;
    return cached;
  }
  const hashes: CachedHashes = hashXattrs(entry);
  if (entry.stat.isFile()) {
    hashes.content = await hashFile(entry.absBytes, entry.stat.size, keep && ((body) => keep(entry, body)));
    stats.filesHashed++;
  }
  cache.set(key, entry.stat, hashes);
  return hashes;
}

/**
 * Adds one entry (named `name` in the digest) to `hash`. With `summarize`, returns a short
 * summary of the entry (`<type> <mode> <content>`) so a cache miss can name the file that
 * changed and how; else ''.
 */
export async function digestEntry(
  hash: Hash,
  name: Buffer,
  entry: ContextEntry,
  cache: StatCache,
  stats: DigestStats,
  summarize = true,
  keep?: BodyKeeper,
): Promise<string> {
  const hashes = await entryHashes(entry, cache, stats, keep);
  const link = entry.stat.isSymbolicLink() ? readlinkSync(entry.absBytes, { encoding: 'buffer' }) : EMPTY;
  const device = entry.stat.isCharacterDevice() || entry.stat.isBlockDevice() ? String(entry.stat.rdev) : '';
  const type = entryType(entry.stat);
  const mode = (entry.stat.mode & 0o7777).toString(8);
  // Fields in order: name, type, mode, link, device, xattrs hash, content hash.
  writeField(hash, name);
  if (link.length === 0) {
    hash.update(stringFields(type, mode, '', device, hashes.xattrs, hashes.content ?? ''));
  } else {
    hash.update(stringFields(type, mode));
    writeField(hash, link);
    hash.update(stringFields(device, hashes.xattrs, hashes.content ?? ''));
  }
  if (!summarize) return '';
  const content = (hashes.content ?? link.toString('hex') + device).slice(0, 16);
  return `${type} ${mode} ${content}${hashes.xattrs.slice(0, 8)}`;
}
