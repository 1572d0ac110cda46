/**
 * The persistent step cache: one small JSON file per key under `<root>/cache/records/`, written
 * atomically (temp + rename) so a crash leaves either the old state or the new one. An lru-cache
 * in front saves disk reads within a process.
 *
 * Last use is the record file's mtime (touched on every hit), which `builder prune` and the
 * automatic GC use to drop the least recently used records first. A step that two builds reach at
 * once runs once: see {@link DiskCacheStore.lock}.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  buildHistoryLength,
  type BuildHistoryEntry,
  type CacheRecord,
  type CacheStore,
  type ContentStore,
} from '../core/ports.js';
import type { StoreProblem } from '../store/fsck.js';
import { storeWriteError } from '../sys/io-errors.js';
import { storeLayout } from '../store/layout.js';
import { processLease } from '../store/lease.js';
import { isOwnerAlive, ownerId, withLock } from '../sys/file-lock.js';

const hexKey = /^[a-f0-9]{64}$/;

/** One record on disk, as {@link listCacheRecords} finds it. */
export interface StoredRecord {
  key: string;
  /** Undefined when the file is not valid JSON (a corrupt record). */
  record?: CacheRecord;
  /** Last hit or write (ms since the epoch). */
  lastUsedMs: number;
  file: string;
}

export class DiskCacheStore implements CacheStore {
  private readonly records = new LRUCache<string, CacheRecord>({ max: 10_000 });
  private readonly touched = new Set<string>();
  private readonly recordsDir: string;
  private readonly inputsDir: string;
  private readonly historyDir: string;
  private readonly locksDir: string;

  constructor(private readonly root: string) {
    this.recordsDir = join(root, 'cache', 'records');
    this.inputsDir = join(root, 'cache', 'inputs');
    this.historyDir = join(root, 'cache', 'history');
    this.locksDir = storeLayout(root).locks;
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const file = this.pathOf(this.recordsDir, key);
    const cached = this.records.get(key);
    const record = cached ?? (await readJson<CacheRecord>(file));
    if (record === undefined) return undefined;
    if (cached === undefined) this.records.set(key, record);
    await this.noteUse(key, file);
    return record;
  }

  async put(key: string, record: CacheRecord): Promise<void> {
    await processLease(this.root).add('record', key);
    await writeAtomic(this.pathOf(this.recordsDir, key), record);
    this.records.set(key, record);
  }

  async getInputs(identity: string): Promise<Record<string, string> | undefined> {
    return readJson(this.pathOf(this.inputsDir, identity));
  }

  async putInputs(identity: string, inputs: Record<string, string>): Promise<void> {
    // Replaces the last build's inputs: ext4 flushes a file renamed over another, which the
    // thread pool can wait for instead of the build's thread.
    await writeAtomic(this.pathOf(this.inputsDir, identity), inputs, 'pool');
  }

  /**
   * One line per build, added with a single append (O_APPEND: builds of the same Dockerfile at
   * once do not overwrite each other's lines). Once the file holds twice the bound it is
   * rewritten with the newest builds only, so most builds just append.
   */
  async appendHistory(identity: string, build: BuildHistoryEntry): Promise<void> {
    const file = this.historyPath(identity);
    const line = `${JSON.stringify(build)}\n`;
    try {
      await mkdir(this.historyDir, { recursive: true });
      await appendFile(file, line);
      // Builds of one Dockerfile have entries of about one size: the file is read back and cut to
      // the newest builds only once it holds about twice as many, not after every build.
      if ((await stat(file)).size < 2 * buildHistoryLength * Buffer.byteLength(line)) return;
      const lines = (await readFile(file, 'utf8')).split('\n').filter((entry) => entry !== '');
      if (lines.length > buildHistoryLength)
        await writeAtomic(file, lines.slice(-buildHistoryLength).join('\n'), 'pool', 'text');
    } catch (error) {
      throw storeWriteError(error, `writing the build history ${file}`);
    }
  }

  async readHistory(identity: string): Promise<BuildHistoryEntry[]> {
    let text: string;
    try {
      text = await readFile(this.historyPath(identity), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .flatMap((line) => parseHistoryLine(line))
      .slice(-buildHistoryLength);
  }

  /**
   * Runs `work` (which looks the key up and, on a miss, runs the step and records it) holding the
   * flock `locks/<key>`, so a second process reaching the same step waits and then hits. A key
   * that already has a record skips the lock (the common, cheap case).
   */
  async lock<T>(key: string, work: () => Promise<T>): Promise<T> {
    if ((await this.get(key)) !== undefined) return work();
    return withLock(join(this.locksDir, this.checked(key)), work);
  }

  /** Leases the record and marks it used now (once per process: the mtime is only for LRU order). */
  private async noteUse(key: string, file: string): Promise<void> {
    await processLease(this.root).add('record', key);
    if (this.touched.has(key)) return;
    this.touched.add(key);
    const now = new Date();
    try {
      utimesSync(file, now, now);
    } catch {
      // A record pruned meanwhile is simply gone; the caller already has its content.
    }
  }

  private checked(key: string): string {
    // Keys become file names: accept only what we produce.
    if (!hexKey.test(key)) throw new Error(`bad cache key: ${key}`);
    return key;
  }

  private pathOf(dir: string, key: string): string {
    return join(dir, this.checked(key).slice(0, 2), `${key}.json`);
  }

  private historyPath(identity: string): string {
    return join(this.historyDir, `${this.checked(identity)}.jsonl`);
  }
}

/** One history line as an entry; none for a torn, foreign or older-format line. */
function parseHistoryLine(line: string): BuildHistoryEntry[] {
  if (line === '') return [];
  try {
    const entry = JSON.parse(line) as BuildHistoryEntry;
    return entry?.v === 1 && Array.isArray(entry.steps) ? [entry] : [];
  } catch {
    return [];
  }
}

/** Every record file of the store at `root` (for prune, GC and fsck). */
export async function listCacheRecords(root: string): Promise<StoredRecord[]> {
  const recordsDir = join(root, 'cache', 'records');
  const found: StoredRecord[] = [];
  for (const shard of await readdir(recordsDir).catch(() => [] as string[])) {
    for (const name of await readdir(join(recordsDir, shard)).catch(() => [] as string[])) {
      const key = name.slice(0, -'.json'.length);
      if (!name.endsWith('.json') || !hexKey.test(key)) continue;
      const file = join(recordsDir, shard, name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined) continue;
      const record = await readJson<CacheRecord>(file).catch(() => undefined);
      found.push({ key, file, lastUsedMs: info.mtimeMs, ...(record === undefined ? {} : { record }) });
    }
  }
  return found;
}

/** Deletes the record of `key` (a later lookup misses). */
export async function removeCacheRecord(root: string, key: string): Promise<void> {
  if (!hexKey.test(key)) throw new Error(`bad cache key: ${key}`);
  await rm(join(root, 'cache', 'records', key.slice(0, 2), `${key}.json`), { force: true });
}

/** Leftover temp files of record, input and history writes killed half-way (never read: they only waste space). */
export async function removeRecordTemps(root: string): Promise<number> {
  const cache = join(root, 'cache');
  const sharded = async (dir: string) =>
    (await readdir(dir).catch(() => [] as string[])).map((shard) => join(dir, shard));
  // Records and inputs sit in shard dirs; history files directly in their dir.
  const dirs = [
    ...(await sharded(join(cache, 'records'))),
    ...(await sharded(join(cache, 'inputs'))),
    join(cache, 'history'),
  ];
  let removed = 0;
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const owner = /\.jsonl?\.(\d+\.\d+)-[a-f0-9]+\.tmp$/.exec(name)?.[1];
      if (owner === undefined || owner === ownerId()) continue;
      if (isOwnerAlive(owner)) continue;
      await rm(join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * Records are small JSON files read and written for every step (a few calls per step):
 * synchronous calls cost a fraction of a thread-pool round trip each.
 */
async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    // A missing or torn record is a miss, not an error.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * Writes `value` to a temp file renamed over `path`, directly or on the thread pool: as JSON, or
 * (`text`) a string as it is, ending with a newline.
 */
async function writeAtomic(
  path: string,
  value: unknown,
  calls: 'direct' | 'pool' = 'direct',
  encoding: 'json' | 'text' = 'json',
): Promise<void> {
  const temp = `${path}.${ownerId()}-${randomBytes(6).toString('hex')}.tmp`;
  const data = encoding === 'json' ? JSON.stringify(value) : `${String(value)}\n`;
  try {
    if (calls === 'direct') {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(temp, data);
      renameSync(temp, path);
    } else {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(temp, data);
      await rename(temp, path);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw storeWriteError(error, `writing the cache record ${path}`);
  }
}

/**
 * fsck for the step cache: a record that is not valid JSON, or whose layer blob is missing (or in
 * `corrupt`, the blobs fsck found damaged), is a problem; `repair` deletes it (a later build simply misses and runs the
 * step again).
 */
export async function checkCacheRecords(
  root: string,
  content: ContentStore,
  repair = false,
  corrupt: ReadonlySet<string> = new Set(),
): Promise<StoreProblem[]> {
  const problems: StoreProblem[] = [];
  for (const stored of await listCacheRecords(root)) {
    const layer = stored.record?.layer?.diffId;
    let problem: StoreProblem | undefined;
    if (stored.record === undefined)
      problem = { kind: 'corrupt-record', subject: stored.key, detail: 'not valid JSON' };
    else if (layer !== undefined && (corrupt.has(layer) || !(await content.has(layer)))) {
      problem = { kind: 'dangling-record', subject: stored.key, detail: `layer ${layer} is missing or corrupt` };
    }
    if (problem === undefined) continue;
    if (repair) {
      await rm(stored.file, { force: true });
      problem.repaired = true;
    }
    problems.push(problem);
  }
  return problems;
}
