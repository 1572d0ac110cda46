import { createHash } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setAttribute } from '@napi-rs/xattr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildContext } from '../../../../builder/context/build-context.js';
import { hashFile } from '../../../../builder/context/digest.js';
import { makeContext, type ContextFixture } from './fixture.js';

let fixture: ContextFixture;
let cachePath: string;
const sourcesOf = ['dir', 'a.txt', 'link-to-a', 'logs'];

beforeEach(async () => {
  fixture = await makeContext();
  cachePath = path.join(fixture.base, 'state', 'stat-cache.json');
});
afterEach(async () => fixture.cleanup());

/** Opens a fresh context (as a new build would) and digests the usual sources. */
async function digest(sources = sourcesOf): Promise<{ digest: string; context: BuildContext }> {
  const context = await BuildContext.open(fixture.dir, { statCachePath: cachePath });
  return { digest: await context.digestSources(await context.resolveSources(sources)), context };
}

const inCtx = (rel: string): string => path.join(fixture.dir, rel);

describe('what the digest covers', () => {
  it('is a stable sha256 digest', async () => {
    const first = await digest();
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await digest()).digest).toBe(first.digest);
  });

  it('changes with content', async () => {
    const before = (await digest()).digest;
    await writeFile(inCtx('dir/sub/y.txt'), 'Y changed\n');
    expect((await digest()).digest).not.toBe(before);
  });

  it('changes with permission bits', async () => {
    const before = (await digest()).digest;
    await chmod(inCtx('dir/x.txt'), 0o755);
    expect((await digest()).digest).not.toBe(before);
  });

  it('changes with a symlink target', async () => {
    const before = (await digest()).digest;
    await unlink(inCtx('dir/inner-link'));
    await symlink('x.txt', inCtx('dir/inner-link'));
    expect((await digest()).digest).not.toBe(before);
  });

  it('changes with a rename', async () => {
    const before = (await digest()).digest;
    await rename(inCtx('dir/x.txt'), inCtx('dir/x2.txt'));
    expect((await digest()).digest).not.toBe(before);
  });

  it('changes with extended attributes', async () => {
    const before = (await digest()).digest;
    await setAttribute(inCtx('dir/x.txt'), 'user.tzbuild.test', 'v1');
    const withXattr = (await digest()).digest;
    expect(withXattr).not.toBe(before);
    await setAttribute(inCtx('dir/x.txt'), 'user.tzbuild.test', 'v2');
    expect((await digest()).digest).not.toBe(withXattr);
  });

  it('follows the named symlink: the target content counts', async () => {
    const before = (await digest(['link-to-a'])).digest;
    await writeFile(inCtx('a.txt'), 'A changed\n');
    expect((await digest(['link-to-a'])).digest).not.toBe(before);
  });

  it('ignores files left out by .dockerignore', async () => {
    const before = (await digest()).digest;
    await writeFile(inCtx('logs/drop.log'), 'still dropped, new content\n');
    expect((await digest()).digest).toBe(before);
    await writeFile(inCtx('logs/keep.log'), 'kept, new content\n');
    expect((await digest()).digest).not.toBe(before);
  });

  it('does not change on touch or chown', async () => {
    const before = (await digest()).digest;
    await utimes(inCtx('dir/x.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    await utimes(inCtx('dir'), new Date('2002-02-02'), new Date('2002-02-02'));
    expect((await digest()).digest).toBe(before);
    await chown(inCtx('dir/x.txt'), 4242, 4343);
    expect((await digest()).digest).toBe(before);
  });
});

describe('stat cache', () => {
  it('re-hashes no file on a no-op rebuild, only the touched one after touch', async () => {
    const first = await digest();
    // dir: inner-link-target.txt, x.txt, sub/y.txt; a.txt; logs/keep.log (link-to-a reuses a.txt's hash).
    expect(first.context.stats.filesHashed).toBe(5);

    const second = await digest();
    expect(second.digest).toBe(first.digest);
    expect(second.context.stats.filesHashed).toBe(0);
    expect(second.context.stats.cacheHits).toBeGreaterThan(0);

    await utimes(inCtx('dir/x.txt'), new Date(), new Date(Date.now() + 5000));
    const third = await digest();
    expect(third.context.stats.filesHashed).toBe(1);
    expect(third.digest).toBe(first.digest);
  });

  it('remembers which files have no xattrs at all, until an xattr changes their ctime', async () => {
    await setAttribute(inCtx('a.txt'), 'user.tzbuild.test', 'kept');
    const first = await digest();
    const entryOf = async (context: BuildContext, source: string) => {
      for await (const entry of context.walk((await context.resolveSources([source]))[0]!)) return entry;
      throw new Error(`no entry for ${source}`);
    };
    // Known from this digest and, in a later build, from the saved cache.
    for (const { context } of [first, await digest()]) {
      expect(context.knownBare(await entryOf(context, 'dir/x.txt'))).toBe(true);
      expect(context.knownBare(await entryOf(context, 'a.txt'))).toBe(false);
    }
    await setAttribute(inCtx('dir/x.txt'), 'user.tzbuild.test', 'new');
    const fresh = await BuildContext.open(fixture.dir, { statCachePath: cachePath });
    expect(fresh.knownBare(await entryOf(fresh, 'dir/x.txt'))).toBe(false);
  });

  it('notices a same-size content change through mtime/ctime', async () => {
    const first = await digest();
    await writeFile(inCtx('dir/x.txt'), 'Z\n');
    const second = await digest();
    expect(second.context.stats.filesHashed).toBe(1);
    expect(second.digest).not.toBe(first.digest);
  });

  it('survives a corrupt cache file', async () => {
    const first = await digest();
    await writeFile(cachePath, '{not json');
    const second = await digest();
    expect(second.digest).toBe(first.digest);
    expect(second.context.stats.filesHashed).toBe(5);
  });
});

describe('files', () => {
  it('streams big files and hashes them exactly', async () => {
    const big = inCtx('big.bin');
    const data = Buffer.alloc(6 * 1024 * 1024 + 123, 7);
    await writeFile(big, data);
    expect(await hashFile(big)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('keeps names that are not UTF-8', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tzb-bytes-'));
    try {
      const rawName = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]);
      await writeFile(rawName, 'latin-1 name\n');
      const context = await BuildContext.open(dir);
      const [root] = await context.resolveSources(['.']);
      const found: Buffer[] = [];
      for await (const entry of context.walk(root!)) if (entry.stat.isFile()) found.push(entry.absBytes);
      expect(found).toHaveLength(1);
      expect(found[0]?.equals(rawName)).toBe(true);
      expect((await readFile(found[0]!)).toString()).toBe('latin-1 name\n');

      const before = await context.digestSources([root!]);
      await writeFile(rawName, 'changed\n');
      const after = await (await BuildContext.open(dir)).digestSources([root!]);
      expect(after).not.toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
