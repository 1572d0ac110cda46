/**
 * bin/tzbuild's V8 code caches (dist/tzbuild/v8): the bundle's warm-up makes them, a run writes
 * the ones missing or rejected and keeps the ones V8 accepted, and TZBUILD_REFRESH_CODE_CACHE=1
 * rewrites every loaded chunk's (how the warm-up adds one kind of build to the next). On a copy
 * of bin/ and dist/, so other test files keep using the real ones.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/paths.js';

let copy = '';
let store = '';
const cacheDir = () => path.join(copy, 'dist/tzbuild/v8');

beforeAll(async () => {
  copy = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-code-cache-'));
  await cp(path.join(repoRoot, 'bin'), path.join(copy, 'bin'), { recursive: true });
  await cp(path.join(repoRoot, 'dist/tzbuild'), path.join(copy, 'dist/tzbuild'), { recursive: true });
  await symlink(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
  store = path.join(copy, 'store');
});
afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

/** A command that loads a few chunks and needs no image: `images` on an empty store. */
async function listImages(env: Record<string, string> = {}): Promise<void> {
  const result = await execa(path.join(copy, 'bin/tzbuild'), ['images', '--root', store], { env, reject: false });
  expect(result.exitCode, result.stderr).toBe(0);
}

/** Cache file → inode and mtime, to tell a rewrite (temp file renamed over it) from a keep. */
async function cacheFiles(): Promise<Map<string, string>> {
  const names = await readdir(cacheDir()).catch(() => [] as string[]);
  const entries = await Promise.all(
    names.map(async (name) => {
      const info = await stat(path.join(cacheDir(), name));
      return [name, `${info.ino}:${info.mtimeMs}`] as const;
    }),
  );
  return new Map(entries);
}

describe('V8 code caches', () => {
  it('ships one per chunk a build loads, made by the bundle', async () => {
    const shipped = await readdir(path.join(repoRoot, 'dist/tzbuild/v8'));
    const modules = JSON.parse(await readFile(path.join(repoRoot, 'dist/tzbuild/modules.json'), 'utf8')) as Record<
      string,
      string[]
    >;
    const buildChunk = Object.keys(modules).find((file) => modules[file]!.includes('dist/builder/build.js'));
    expect(buildChunk).toMatch(/-[\w-]{8}\.cjs$/);
    expect(shipped).toContain(`${buildChunk}.cache`);
  });

  it('writes missing caches, keeps accepted ones, rewrites rejected ones, and all of them on refresh', async () => {
    await rm(cacheDir(), { recursive: true, force: true });
    await listImages();
    const made = await cacheFiles();
    expect(made.size).toBeGreaterThan(0);

    await listImages();
    expect(await cacheFiles()).toEqual(made);

    const [victim] = [...made.keys()];
    await writeFile(path.join(cacheDir(), victim!), 'not a code cache');
    await listImages();
    const afterReject = await cacheFiles();
    expect((await readFile(path.join(cacheDir(), victim!), 'utf8')).startsWith('not a code cache')).toBe(false);
    for (const [name, id] of afterReject) if (name !== victim) expect(id).toBe(made.get(name));

    await listImages({ TZBUILD_REFRESH_CODE_CACHE: '1' });
    const refreshed = await cacheFiles();
    expect([...refreshed.keys()].sort()).toEqual([...afterReject.keys()].sort());
    for (const [name, id] of refreshed) expect(id).not.toBe(afterReject.get(name));
  });
});
