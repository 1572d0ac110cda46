/**
 * The content digest of COPY/ADD sources, for cache keys. It covers what lands in the layer:
 * path, type, permission bits, symlink target, extended attributes and content. It leaves out
 * what does not: mtime, atime, ctime and the owner (COPY sets uid/gid itself).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { getAttribute, listAttributes } from '@napi-rs/xattr';
import type { ContextEntry } from './walk.js';
import { cacheKey, type CachedHashes, type StatCache } from './stat-cache.js';

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

/** Streams a file through sha256, never holding it whole in memory. */
export async function hashFile(file: Buffer | string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of the sorted xattrs ('' when none, or when the filesystem has no xattr support). */
async function hashXattrs(entry: ContextEntry): Promise<string> {
  // The xattr binding takes string paths only: a name that is not UTF-8 is hashed without xattrs.
  if (!Buffer.from(entry.abs, 'utf8').equals(entry.absBytes)) return '';
  let names: string[];
  try {
    names = (await listAttributes(entry.abs)).filter((name) => !IGNORED_XATTRS.has(name)).sort();
  } catch {
    return '';
  }
  if (names.length === 0) return '';
  const hash = createHash('sha256');
  for (const name of names) {
    const value = (await getAttribute(entry.abs, name)) ?? Buffer.alloc(0);
    writeField(hash, Buffer.from(name));
    writeField(hash, value);
  }
  return hash.digest('hex');
}

/** Writes one length-prefixed field, so no two different entries can hash alike. */
function writeField(hash: Hash, value: Buffer | string): void {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  hash.update(`${bytes.length}:`);
  hash.update(bytes);
}

/** Content and xattr hashes of an entry, from the stat cache when its stat is unchanged. */
async function entryHashes(entry: ContextEntry, cache: StatCache, stats: DigestStats): Promise<CachedHashes> {
  const key = cacheKey(entry.absBytes);
  const cached = cache.get(key, entry.stat);
  if (cached !== undefined) {
    stats.cacheHits++;
    return cached;
  }
  const hashes: CachedHashes = { xattrs: await hashXattrs(entry) };
  if (entry.stat.isFile()) {
    hashes.content = await hashFile(entry.absBytes);
    stats.filesHashed++;
  }
  cache.set(key, entry.stat, hashes);
  return hashes;
}

/**
 * Adds one entry (named `name` in the digest) to `hash`. Returns a short summary of the entry
 * (`<type> <mode> <content>`) so a cache miss can name the file that changed and how.
 */
export async function digestEntry(hash: Hash, name: Buffer, entry: ContextEntry, cache: StatCache, stats: DigestStats): Promise<string> {
  const hashes = await entryHashes(entry, cache, stats);
  const link = entry.stat.isSymbolicLink() ? await readlink(entry.absBytes, { encoding: 'buffer' }) : Buffer.alloc(0);
  const device = entry.stat.isCharacterDevice() || entry.stat.isBlockDevice() ? String(entry.stat.rdev) : '';
  writeField(hash, name);
  writeField(hash, entryType(entry.stat));
  writeField(hash, (entry.stat.mode & 0o7777).toString(8));
  writeField(hash, link);
  writeField(hash, device);
  writeField(hash, hashes.xattrs);
  writeField(hash, hashes.content ?? '');
  const mode = (entry.stat.mode & 0o7777).toString(8);
  return `${entryType(entry.stat)} ${mode} ${(hashes.content ?? link.toString('hex') + device).slice(0, 16)}${hashes.xattrs.slice(0, 8)}`;
}
