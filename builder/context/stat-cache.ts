/**
 * The stat cache of content hashes: a file whose inode, size, mtime and ctime are unchanged is
 * not read again. Persisted as JSON at a path the caller chooses; a missing or corrupt file is an
 * empty cache, never an error (it only costs time). The file holds one flat array of tuples, not
 * an object of objects: a no-op build of a 20,000-file context reads it on every run, and the
 * tuples parse about twice as fast and take half the bytes.
 */
import { isUtf8 } from 'node:buffer';
import { mkdirSync, readFileSync, renameSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** What is remembered for one path. */
export interface CachedHashes {
  /** sha256 hex of the content (regular files only). */
  content?: string;
  /** sha256 hex of the extended attributes ('' when there are none). */
  xattrs: string;
  /** The path had no extended attribute at all (not even an ignored one): a COPY need not list them. */
  bare?: boolean;
}

interface StoredEntry extends CachedHashes {
  /** `ino:size:mtime:ctime` when the hashes were taken. */
  validator: string;
}

/** One entry on disk: key, validator, xattrs hash, content hash ('' for non-files), 1 when bare. */
type StoredTuple = [string, string, string, string] | [string, string, string, string, 1];

const FORMAT_VERSION = 2;

/** What must be unchanged for a path's recorded hashes (or bytes) to still be its own. */
export function validatorOf(stat: Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/**
 * Keys are absolute paths (`abs`, the UTF-8 reading of `absBytes`); a name that is not UTF-8 is
 * keyed by its hex bytes.
 */
export function cacheKey(absBytes: Buffer, abs: string = absBytes.toString('utf8')): string {
  return isUtf8(absBytes) ? abs : `hex:${absBytes.toString('hex')}`;
}

/** An in-memory map of cached hashes, loaded from and saved to one JSON file. */
export class StatCache {
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly entries: Map<string, StoredEntry>,
  ) {}

  /** Loads the cache at `file` (or an in-memory one when `file` is undefined). */
  static async load(file: string | undefined): Promise<StatCache> {
    const entries = new Map<string, StoredEntry>();
    if (file !== undefined) {
      try {
        const parsed = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; entries?: StoredTuple[] };
        if (parsed.version === FORMAT_VERSION && Array.isArray(parsed.entries)) {
          for (const [key, validator, xattrs, content, bare] of parsed.entries) {
            const entry: StoredEntry = content === '' ? { validator, xattrs } : { validator, xattrs, content };
            if (bare === 1) entry.bare = true;
            entries.set(key, entry);
          }
        }
      } catch {
        // No cache yet, or unreadable: start empty.
      }
    }
    return new StatCache(file, entries);
  }

  /** The hashes recorded for `key`, if its stat still matches. */
  get(key: string, stat: Stats): CachedHashes | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.validator === validatorOf(stat) ? entry : undefined;
  }

  set(key: string, stat: Stats, hashes: CachedHashes): void {
    this.entries.set(key, { ...hashes, validator: validatorOf(stat) });
    this.dirty = true;
  }

  /**
   * Writes the cache if it changed (temp file + rename, so readers never see half a file). With
   * direct calls: parallel stages digest their sources at once, and a queue of async writes had
   * the second stage's COPY wait for the first one's.
   */
  async save(): Promise<void> {
    if (this.file === undefined || !this.dirty) return;
    this.dirty = false;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const tuples: StoredTuple[] = [];
    for (const [key, entry] of this.entries) {
      const { validator, xattrs, content = '', bare } = entry;
      tuples.push(bare === true ? [key, validator, xattrs, content, 1] : [key, validator, xattrs, content]);
    }
    writeFileSync(temp, JSON.stringify({ version: FORMAT_VERSION, entries: tuples }));
    renameSync(temp, this.file);
  }
}
