import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContextError } from '../../../../core/errors.js';
import { BuildContext, type ContextSource } from '../../../../builder/context/build-context.js';
import { makeContext, type ContextFixture } from './fixture.js';

let fixture: ContextFixture;
let context: BuildContext;

beforeEach(async () => {
  fixture = await makeContext();
  context = await BuildContext.open(fixture.dir);
});
afterEach(async () => fixture.cleanup());

const rels = (sources: ContextSource[]): string[] => sources.map((s) => s.rel);

async function failure(sources: string[], options = {}): Promise<ContextError> {
  try {
    await context.resolveSources(sources, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ContextError);
    return error as ContextError;
  }
  throw new Error(`resolving ${sources.join(' ')} did not fail`);
}

describe('wildcards', () => {
  it('expands * ? and [...] per path segment, sorted, skipping excluded files', async () => {
    expect(rels(await context.resolveSources(['*.txt']))).toEqual(['a.txt', 'b.txt']);
    expect(rels(await context.resolveSources(['?.md']))).toEqual(['c.md']);
    expect(rels(await context.resolveSources(['[ab].txt']))).toEqual(['a.txt', 'b.txt']);
    expect(rels(await context.resolveSources(['dir/*/y.txt']))).toEqual(['dir/sub/y.txt']);
  });

  it('leaves out matches that lead outside the context instead of failing', async () => {
    const all = rels(await context.resolveSources(['*']));
    expect(all).toContain('link-to-a');
    expect(all).toContain('.dockerignore');
    expect(all).not.toContain('escape-link');
    expect(all).not.toContain('abs-escape');
    expect(all).not.toContain('up');
    expect(all).not.toContain('secret.key');
  });

  it('does not let * cross a /', async () => {
    expect(rels(await context.resolveSources(['dir/*.txt']))).toEqual(['dir/inner-link-target.txt', 'dir/x.txt']);
    expect((await failure(['*/y.txt'])).code).toBe('CONTEXT_NOT_FOUND');
  });

  it('keeps literal paths literal when wildcards are off', async () => {
    expect((await failure(['*.txt'], { allowWildcards: false })).code).toBe('CONTEXT_NOT_FOUND');
  });

  it('reports a wildcard that only matches excluded files as excluded', async () => {
    const error = await failure(['*.key']);
    expect(error.code).toBe('CONTEXT_EXCLUDED');
    expect(error.message).toContain('"*.key"');
  });

  it('skips a wildcard that matches nothing when another source matches (BuildKit AllowEmptyWildcard)', async () => {
    expect(rels(await context.resolveSources(['none-*', 'a.txt', '*.nothing']))).toEqual(['a.txt']);
    expect(rels(await context.resolveSources(['*.key', '?.md']))).toEqual(['c.md']);
    // Sources of another kind (a heredoc, a URL) matched: the wildcards may all come up empty.
    expect(await context.resolveSources(['none-*'], { othersMatch: true })).toEqual([]);
  });

  it('fails when every wildcard matches nothing (naming the first) or a plain source is missing', async () => {
    const none = await failure(['none-*', 'other-*']);
    expect(none.code).toBe('CONTEXT_NOT_FOUND');
    expect(none.message).toBe(
      'COPY failed: file not found in build context or excluded by .dockerignore: stat none-*: file does not exist',
    );
    expect((await failure(['*.key', 'none-*'])).code).toBe('CONTEXT_EXCLUDED');
    expect((await failure(['a.txt', 'none-*', 'nope.txt'])).message).toContain('stat nope.txt');
  });
});

describe('plain sources', () => {
  it('treats a leading / as the context root and returns every source in order', async () => {
    const sources = await context.resolveSources(['/dir/x.txt', 'b.txt', '.']);
    expect(rels(sources)).toEqual(['dir/x.txt', 'b.txt', '.']);
    expect(sources[0]?.abs).toBe(path.join(context.root, 'dir/x.txt'));
    expect(sources[2]?.stat.isDirectory()).toBe(true);
  });

  it('says a missing file is not found, Docker-style', async () => {
    const error = await failure(['nope.txt']);
    expect(error.message).toBe(
      'COPY failed: file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist',
    );
  });

  it('says an existing but ignored file is excluded and names the pattern', async () => {
    const error = await failure(['secret.key']);
    expect(error.code).toBe('CONTEXT_EXCLUDED');
    expect(error.message).toMatch(/secret\.key is excluded by \.dockerignore \(pattern "\*\.key"\)/);
    expect((await failure(['logs/drop.log'])).message).toContain('pattern "logs"');
  });

  it('keeps an excluded directory that holds re-included files', async () => {
    const [logs] = await context.resolveSources(['logs']);
    const names: string[] = [];
    for await (const entry of context.walk(logs!)) names.push(entry.rel);
    expect(names).toEqual(['.', 'keep.log']);
  });
});

describe('escaping the context', () => {
  it('refuses ../ paths', async () => {
    expect((await failure(['../outside.txt'])).code).toBe('CONTEXT_ESCAPE');
    expect((await failure(['dir/../../outside.txt'])).code).toBe('CONTEXT_ESCAPE');
  });

  it('refuses symlinks that point outside, relative or absolute', async () => {
    expect((await failure(['escape-link'])).code).toBe('CONTEXT_ESCAPE');
    expect((await failure(['abs-escape'])).code).toBe('CONTEXT_ESCAPE');
    expect((await failure(['up/outside.txt'])).code).toBe('CONTEXT_ESCAPE');
  });
});

describe('symlinks', () => {
  it('follows a named symlink inside the context (COPY link copies the target content)', async () => {
    const [link] = await context.resolveSources(['link-to-a']);
    expect(link).toMatchObject({ rel: 'link-to-a', resolved: 'a.txt' });
    expect(link?.stat.isFile()).toBe(true);
  });

  it('maps an absolute link into the context when it points inside it', async () => {
    const [link] = await context.resolveSources(['abs-inside']);
    expect(link?.resolved).toBe('b.txt');
  });

  it('follows symlinked parent directories inside the context', async () => {
    const [viaLink] = await context.resolveSources(['link-dir/x.txt']);
    expect(viaLink?.resolved).toBe('dir/x.txt');
  });

  it('returns the link itself when asked not to follow', async () => {
    const [link] = await context.resolveSources(['link-to-a'], { followSymlinks: false });
    expect(link?.stat.isSymbolicLink()).toBe(true);
  });

  it('walks a directory keeping the links inside it as links, sorted by name', async () => {
    const [dir] = await context.resolveSources(['dir']);
    const entries: [string, boolean][] = [];
    for await (const entry of context.walk(dir!)) entries.push([entry.rel, entry.stat.isSymbolicLink()]);
    expect(entries).toEqual([
      ['.', false],
      ['inner-link', true],
      ['inner-link-target.txt', false],
      ['sub', false],
      ['sub/y.txt', false],
      ['x.txt', false],
    ]);
  });
});

describe('opening a context', () => {
  it('reads <Dockerfile>.dockerignore through openBuildContext and saves on close', async () => {
    const { openBuildContext } = await import('../../../../builder/context/index.js');
    const { writeFile, readFile } = await import('node:fs/promises');
    await writeFile(path.join(fixture.dir, 'Custom.Dockerfile'), 'FROM scratch\n');
    await writeFile(path.join(fixture.dir, 'Custom.Dockerfile.dockerignore'), 'a.txt\n');
    const statCachePath = path.join(fixture.base, 'cache.json');
    const opened = await openBuildContext(fixture.dir, {
      dockerfileName: path.join(fixture.dir, 'Custom.Dockerfile'),
      statCachePath,
    });
    expect(opened.ignore.matches('a.txt')).toBe(true);
    expect(opened.ignore.matches('secret.key')).toBe(false);
    await opened.digestSources(await opened.resolveSources(['b.txt']));
    await opened.close();
    const saved = JSON.parse(await readFile(statCachePath, 'utf8')) as { version: number; entries: string[][] };
    expect(saved.version).toBe(2);
    expect(saved.entries.map((entry) => path.basename(entry[0] ?? ''))).toEqual(['b.txt']);
  });

  it('names the ignore file when it holds a bad pattern', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(fixture.dir, '.dockerignore'), 'ok\n[z-a]\n');
    await expect(BuildContext.open(fixture.dir)).rejects.toThrow(/\.dockerignore: bad pattern "\[z-a\]"/);
  });

  it('refuses a context that is not a directory', async () => {
    await expect(BuildContext.open(path.join(fixture.dir, 'a.txt'))).rejects.toMatchObject({ code: 'CONTEXT_MISSING' });
  });
});
