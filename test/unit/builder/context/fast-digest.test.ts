/**
 * The fast paths of context hashing: files read in one call below 1 MiB and streamed above it
 * must hash exactly like their bytes, a file that grows past the one-read size between stat and
 * read is still hashed whole, and the stat cache's tuple format round-trips (an older format is
 * simply a cold cache).
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildContext } from '../../../../builder/context/build-context.js';
import { hashFile } from '../../../../builder/context/digest.js';

const MiB = 1024 * 1024;
let base: string;
let dir: string;
let cachePath: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'tzb-fastctx-'));
  dir = path.join(base, 'ctx');
  cachePath = path.join(base, 'state', 'cache.json');
  await mkdir(dir);
});
afterEach(async () => rm(base, { recursive: true, force: true }));

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function open(): Promise<BuildContext> {
  return BuildContext.open(dir, { statCachePath: cachePath });
}

async function digestAll(context: BuildContext): Promise<{ digest: string; summaries: Map<string, string> }> {
  const summaries = new Map<string, string>();
  const digest = await context.digestSources(await context.resolveSources(['.']), summaries);
  return { digest, summaries };
}

describe('file hashing around the one-read size', () => {
  it('hashes every size exactly, whichever way the file is read', async () => {
    for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 5]) {
      const data = randomBytes(size);
      const file = path.join(dir, `f${size}`);
      await writeFile(file, data);
      expect(await hashFile(file, size)).toBe(sha(data));
      expect(await hashFile(file)).toBe(sha(data));
    }
  });

  it('hashes a file whole when it grew past the one-read size after its stat', async () => {
    const file = path.join(dir, 'grows');
    await writeFile(file, 'small');
    await appendFile(file, randomBytes(2 * MiB));
    // Stat said 5 bytes: the one-read path sees more and falls back to streaming all of it.
    expect(await hashFile(file, 5)).toBe(sha(await readFile(file)));
  });

  it('summaries carry the content hash of small and big files alike', async () => {
    const small = randomBytes(100);
    const big = randomBytes(2 * MiB);
    await writeFile(path.join(dir, 'small'), small);
    await writeFile(path.join(dir, 'big'), big);
    const { summaries } = await digestAll(await open());
    expect(summaries.get('./small')).toBe(`file 644 ${sha(small).slice(0, 16)}`);
    expect(summaries.get('./big')).toBe(`file 644 ${sha(big).slice(0, 16)}`);
  });
});

describe('stat cache file', () => {
  it('round-trips: a second build re-reads nothing and gets the same digest', async () => {
    for (let i = 0; i < 50; i++) await writeFile(path.join(dir, `f${i}`), `file ${i}\n`);
    const first = await open();
    const cold = await digestAll(first);
    expect(first.stats.filesHashed).toBe(50);
    const saved = JSON.parse(await readFile(cachePath, 'utf8')) as { version: number; entries: unknown[][] };
    expect(saved.version).toBe(2);
    expect(saved.entries.length).toBe(51);
    const second = await open();
    expect((await digestAll(second)).digest).toBe(cold.digest);
    expect(second.stats).toEqual({ filesHashed: 0, cacheHits: 51 });
  });

  it('treats a cache in the old object format as empty, then rewrites it', async () => {
    await writeFile(path.join(dir, 'a'), 'A\n');
    const reference = await digestAll(await open());
    await mkdir(path.dirname(cachePath), { recursive: true });
    await writeFile(
      cachePath,
      JSON.stringify({
        version: 1,
        entries: { [path.join(dir, 'a')]: { validator: 'x', xattrs: '', content: 'bogus' } },
      }),
    );
    const context = await open();
    expect((await digestAll(context)).digest).toBe(reference.digest);
    expect(context.stats.filesHashed).toBe(1);
    expect((JSON.parse(await readFile(cachePath, 'utf8')) as { version: number }).version).toBe(2);
  });
});

describe('walking after a digest', () => {
  it("hands the digest's entries to the next walk of the source once, then walks the disk again", async () => {
    for (let i = 0; i < 5; i++) await writeFile(path.join(dir, `f${i}`), `file ${i}\n`);
    const context = await open();
    const [source] = await context.resolveSources(['.']);
    if (source === undefined) throw new Error('no source');
    const fresh = async (): Promise<string[]> => {
      const names: string[] = [];
      for await (const entry of context.walk(source)) names.push(entry.rel);
      return names;
    };
    await context.digestSources([source]);
    await writeFile(path.join(dir, 'late'), 'added after the digest\n');
    // The step that digested the source copies exactly what it hashed...
    expect(await fresh()).toEqual(['.', 'f0', 'f1', 'f2', 'f3', 'f4']);
    // ...and any later walk reads the directory as it is now.
    expect(await fresh()).toEqual(['.', 'f0', 'f1', 'f2', 'f3', 'f4', 'late']);
  });
});
