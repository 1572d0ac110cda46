import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../../core/errors.js';
import { applyLayer, type ApplyLayerOptions } from '../../../layers/layer-apply.js';
import { header, rawTar, streamOf, tempDir } from '../../helpers/layers.js';

type Entry = Parameters<typeof rawTar>[0][number];

/** A target dir with a sibling "outside" dir holding a victim file, plus a snapshot of both. */
async function arena() {
  const base = await tempDir();
  const target = path.join(base, 'target');
  const outside = path.join(base, 'outside');
  await mkdir(target);
  await mkdir(outside);
  await writeFile(path.join(outside, 'victim'), 'original');
  return { base, target, outside };
}

async function snapshot(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const full = path.join(dir, name);
    const stats = await lstat(full);
    found.push(`${name}:${stats.mode}:${stats.isFile() ? await readFile(full, 'utf8') : ''}`);
  }
  return found;
}

const hostile: Record<string, Entry[]> = {
  'a ../ path': [{ header: header('../evil'), body: 'x' }],
  'a nested ../ path': [{ header: header('a/../../evil'), body: 'x' }],
  'an absolute path': [{ header: header('/evil'), body: 'x' }],
  'a file under a symlink pointing out': [
    { header: header('esc', { type: 'symlink', linkname: '../outside' }) },
    { header: header('esc/pwned'), body: 'x' },
  ],
  'a file under an absolute symlink that climbs above /': [
    { header: header('esc', { type: 'symlink', linkname: '/../outside' }) },
    { header: header('esc/pwned'), body: 'x' },
  ],
  'a symlink chain leading out': [
    { header: header('b', { type: 'symlink', linkname: '..' }) },
    { header: header('a', { type: 'symlink', linkname: 'b' }) },
    { header: header('a/outside/victim'), body: 'overwritten' },
  ],
  'a hardlink to an outside path': [{ header: header('hl', { type: 'hardlink', linkname: '../outside/victim' }) }],
  'a hardlink to an absolute path': [{ header: header('hl', { type: 'hardlink', linkname: '/etc/passwd' }) }],
  'a hardlink through a symlink pointing out': [
    { header: header('esc', { type: 'symlink', linkname: '../outside' }) },
    { header: header('hl', { type: 'hardlink', linkname: 'esc/victim' }) },
  ],
  'a whiteout through a symlink pointing out': [
    { header: header('esc', { type: 'symlink', linkname: '../outside' }) },
    { header: header('esc/.wh.victim') },
  ],
  'a whiteout of ..': [{ header: header('sub/.wh...') }],
  'an opaque marker through a symlink pointing out': [
    { header: header('esc', { type: 'symlink', linkname: '../outside' }) },
    { header: header('esc/.wh..wh..opq') },
  ],
  'a directory under a symlink pointing out': [
    { header: header('esc', { type: 'symlink', linkname: '../../' }) },
    { header: header('esc/newdir', { type: 'directory', mode: 0o777 }) },
  ],
};

/** Each way a layer is applied: onto a tree, as a snapshot, as a snapshot into a dir known empty. */
const modes: Record<string, Pick<ApplyLayerOptions, 'format' | 'fresh'>> = {
  overlay: { format: 'overlay' },
  merged: { format: 'merged' },
  'overlay, fresh dir': { format: 'overlay', fresh: true },
};

describe('applyLayer refuses hostile tars', () => {
  for (const [mode, options] of Object.entries(modes)) {
    for (const [name, entries] of Object.entries(hostile)) {
      it(`${mode}: ${name}`, async () => {
        const { base, target, outside } = await arena();
        const before = await snapshot(outside);
        const tar = rawTar(entries);
        const error = await applyLayer(streamOf(tar), target, { ...options, label: 'evil.tar' }).catch((e) => e);
        expect(error).toBeInstanceOf(StoreError);
        expect(String(error)).toMatch(/evil\.tar: refusing unsafe entry "/);
        // Nothing outside the target changed: same files, same modes, same bytes.
        expect(await snapshot(outside)).toEqual(before);
        expect(await readFile(path.join(outside, 'victim'), 'utf8')).toBe('original');
        expect((await readdir(base)).sort()).toEqual(['outside', 'target']);
      });
    }
  }
});

describe('applyLayer into a fresh dir (no lookups of paths it has not made)', () => {
  it('gives what an apply that looks everything up gives, replacements and symlinked parents included', async () => {
    const tar = rawTar([
      { header: header('d', { type: 'directory', mode: 0o755 }) },
      { header: header('d/f'), body: 'one' },
      // A file replaces the dir, then a dir replaces the file: the dir's children are gone.
      { header: header('d'), body: 'file now' },
      { header: header('d', { type: 'directory', mode: 0o700 }) },
      { header: header('d/g'), body: 'two' },
      // A dir replaced by a symlink: its later children go where the symlink points (inside).
      { header: header('e', { type: 'directory', mode: 0o755 }) },
      { header: header('e/f'), body: 'e-f' },
      { header: header('e', { type: 'symlink', linkname: 'd' }) },
      { header: header('e/i'), body: 'through the link' },
      { header: header('s', { type: 'symlink', linkname: '/d' }) },
      { header: header('s/h'), body: 'absolute link' },
      // A whiteout of a file this same layer made.
      { header: header('x'), body: 'x' },
      { header: header('.wh.x') },
      { header: header('hl', { type: 'hardlink', linkname: 'd/g' }) },
      { header: header('d/g'), body: 'replaced after the link' },
    ]);
    const looked = (await arena()).target;
    await applyLayer(streamOf(tar), looked, { format: 'overlay' });
    const fresh = (await arena()).target;
    await applyLayer(streamOf(tar), fresh, { format: 'overlay', fresh: true });
    expect(await snapshot(fresh)).toEqual(await snapshot(looked));
    expect((await readdir(path.join(fresh, 'd'))).sort()).toEqual(['g', 'h', 'i']);
    expect(await readFile(path.join(fresh, 'hl'), 'utf8')).toBe('two');
    expect((await lstat(path.join(fresh, 'x'))).isCharacterDevice()).toBe(true);
  });
});

describe('applyLayer keeps legit images working', () => {
  it('writes through an absolute symlink that stays inside (/var/run -> /run)', async () => {
    const { target, outside } = await arena();
    const tar = rawTar([
      { header: header('run', { type: 'directory', mode: 0o755 }) },
      { header: header('var', { type: 'directory', mode: 0o755 }) },
      { header: header('var/run', { type: 'symlink', linkname: '/run' }) },
      { header: header('var/run/app.pid'), body: '42' },
      { header: header('etc/passwd-link', { type: 'symlink', linkname: '/etc/passwd' }) },
    ]);
    await applyLayer(streamOf(tar), target, { format: 'merged' });
    expect(await readFile(path.join(target, 'run', 'app.pid'), 'utf8')).toBe('42');
    expect(await readlink(path.join(target, 'etc', 'passwd-link'))).toBe('/etc/passwd');
    expect(await readdir(outside)).toEqual(['victim']);
  });

  it('replaces a symlink entry instead of writing through it', async () => {
    const { target, outside } = await arena();
    const tar = rawTar([
      { header: header('victim-link', { type: 'symlink', linkname: '../outside/victim' }) },
      { header: header('victim-link'), body: 'replaced' },
    ]);
    await applyLayer(streamOf(tar), target, { format: 'overlay' });
    expect((await lstat(path.join(target, 'victim-link'))).isFile()).toBe(true);
    expect(await readFile(path.join(target, 'victim-link'), 'utf8')).toBe('replaced');
    expect(await readFile(path.join(outside, 'victim'), 'utf8')).toBe('original');
  });

  it('links hardlinks within the layer and accepts ./-prefixed names', async () => {
    const { target } = await arena();
    const tar = rawTar([
      { header: header('./', { type: 'directory', mode: 0o755 }) },
      { header: header('./usr/bin/a'), body: 'same' },
      { header: header('./usr/bin/b', { type: 'hardlink', linkname: './usr/bin/a' }) },
    ]);
    await applyLayer(streamOf(tar), target, { format: 'overlay' });
    const a = await lstat(path.join(target, 'usr/bin/a'));
    expect((await lstat(path.join(target, 'usr/bin/b'))).ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
  });
});

describe('applyLayer input handling', () => {
  it('decompresses gzip, bzip2, xz and zstd input', async () => {
    const { execa } = await import('execa');
    const tar = rawTar([{ header: header('hello.txt'), body: 'hi' }]);
    const inputs: Record<string, Buffer> = { gzip: gzipSync(tar) };
    for (const tool of ['bzip2', 'xz', 'zstd']) {
      inputs[tool] = Buffer.from((await execa(tool, ['-c'], { input: tar, encoding: 'buffer' })).stdout);
    }
    for (const [kind, data] of Object.entries(inputs)) {
      const { target } = await arena();
      await applyLayer(streamOf(data), target, { format: 'merged', label: kind });
      expect(await readFile(path.join(target, 'hello.txt'), 'utf8')).toBe('hi');
    }
  });

  it('stops a decompression bomb at the size cap', async () => {
    const { target } = await arena();
    const big = rawTar([{ header: header('zeros'), body: Buffer.alloc(4 * 1024 * 1024) }]);
    await expect(
      applyLayer(streamOf(gzipSync(big)), target, { format: 'merged', maxBytes: 1024 * 1024, label: 'bomb.tgz' }),
    ).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('reports a corrupt tar as a StoreError naming the layer', async () => {
    const { target } = await arena();
    const garbage = Buffer.alloc(1024, 7);
    await expect(applyLayer(streamOf(garbage), target, { format: 'merged', label: 'junk.tar' })).rejects.toThrow(
      /junk\.tar: bad header checksum/,
    );
  });
});

describe('applyLayer refuses entries no system call could create', () => {
  const deep = `${Array.from({ length: 450 }, () => 'dddddddddd').join('/')}/leaf`;

  it('names an entry deeper than PATH_MAX, before making any of its parents', async () => {
    const { target } = await arena();
    const tar = rawTar([
      { header: header('kept'), body: 'ok' },
      { header: header(deep, { size: 1 }), body: 'x' },
    ]);
    const error = await applyLayer(streamOf(tar), target, { format: 'overlay', label: 'deep.tar' }).catch((e) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('ENTRY_TOO_DEEP');
    expect(error.message).toMatch(
      /^deep\.tar: entry "dddddddddd\/d.*….*dddd\/leaf" is too deep: unpacked, its path would reach PATH_MAX \(4096/,
    );
    expect(await readdir(target)).toEqual(['kept']);
  });

  it('names an entry whose name is longer than NAME_MAX', async () => {
    const { target } = await arena();
    const tar = rawTar([{ header: header(`dir/${'n'.repeat(300)}`, { size: 1 }), body: 'x' }]);
    const error = await applyLayer(streamOf(tar), target, { format: 'merged', label: 'long.tar' }).catch((e) => e);
    expect(error).toMatchObject({ code: 'ENTRY_NAME_TOO_LONG' });
    expect(error.message).toMatch(/^long\.tar: entry "dir\/n+…n+" has a name of 300 bytes, past NAME_MAX \(255\)$/);
    expect(await readdir(target)).toEqual([]);
  });
});
