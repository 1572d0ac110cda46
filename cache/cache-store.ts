/**
 * The persistent step cache: one small JSON file per key under `<root>/cache/records/`, written
 * atomically (temp + rename) so a crash leaves either the old state or the new one. An lru-cache
 * in front saves disk reads within a process.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CacheRecord, CacheStore } from '../ports.js';

const hexKey = /^[a-f0-9]{64}$/;

export class DiskCacheStore implements CacheStore {
  private readonly records = new LRUCache<string, CacheRecord>({ max: 10_000 });
  private readonly recordsDir: string;
  private readonly inputsDir: string;

  constructor(root: string) {
    this.recordsDir = join(root, 'cache', 'records');
    this.inputsDir = join(root, 'cache', 'inputs');
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const cached = this.records.get(key);
    if (cached !== undefined) return cached;
    const record = await readJson<CacheRecord>(this.pathOf(this.recordsDir, key));
    if (record !== undefined) this.records.set(key, record);
    return record;
  }

  async put(key: string, record: CacheRecord): Promise<void> {
    await writeAtomic(this.pathOf(this.recordsDir, key), record);
    this.records.set(key, record);
  }

  async getInputs(identity: string): Promise<Record<string, string> | undefined> {
    return readJson(this.pathOf(this.inputsDir, identity));
  }

  async putInputs(identity: string, inputs: Record<string, string>): Promise<void> {
    await writeAtomic(this.pathOf(this.inputsDir, identity), inputs);
  }

  private pathOf(dir: string, key: string): string {
    // Keys become file names: accept only what we produce.
    if (!hexKey.test(key)) throw new Error(`bad cache key: ${key}`);
    return join(dir, key.slice(0, 2), `${key}.json`);
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    // A missing or torn record is a miss, not an error.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

async function writeAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(value));
  await rename(temp, path);
}
