import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, link, lstat, mkdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getAttribute, setAttribute } from '@napi-rs/xattr';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { applyLayer } from '../../../layers/layer-apply.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import { readTar } from '../../../layers/tar-reader.js';
import { walkDir } from '../../../layers/upperdir.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir, tempStore } from '../../helpers/layers.js';
import { describeTree } from '../../helpers/snapshot-tree.js';

const longName = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
const tooLongForUstar = `${'x'.repeat(200)}/${'y'.repeat(150)}`;
// Bytes above 0x7f are not valid UTF-8 alone: they must survive as raw PAX bytes.
const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function sampleEntries(): LayerEntry[] {
  return [
    { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
    {
      path: 'etc/shadow',
      type: 'file',
      mode: 0,
      uid: 0,
      gid: 42,
      mtime: 1_600_000_000,
      content: Buffer.from('secret'),
    },
    {
      path: 'bin/ping',
      type: 'file',
      mode: 0o4755,
      uid: 0,
      gid: 0,
      mtime: 1_900_000_000,
      content: Buffer.from('ELF'),
      xattrs: { 'security.capability': capability },
    },
    {
      path: longName,
      type: 'file',
      mode: 0o644,
      uid: 3_000_000,
      gid: 3_000_001,
      mtime: 1_600_000_000,
      content: Buffer.from('long'),
    },
    {
      path: tooLongForUstar,
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 1_600_000_000,
      linkname: `/${'t'.repeat(150)}`,
    },
    {
      path: 'héllo/wörld',
      type: 'hardlink',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 1_600_000_000,
      linkname: 'etc/shadow',
    },
    { path: 'gone', type: 'whiteout', mode: 0, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: 'etc', type: 'opaque', mode: 0, uid: 0, gid: 0, mtime: 1_600_000_000 },
  ];
}

async function listTar(file: string) {
  const seen = [];
  for await (const { header, body } of readTar(createReadStream(file))) {
    let text = '';
    for await (const chunk of body) text += chunk.toString();
    seen.push({ ...header, text });
  }
  return seen;
}

/**
 * A described tree with mtimes only where the layer sets them: an implied parent dir and a whiteout
 * node get the time they were made, in any unpack.
 */
function layerTimes(tree: Record<string, unknown>, entries: LayerEntry[]): Record<string, unknown> {
  const timed = new Set(entries.filter((entry) => entry.type !== 'whiteout').map((entry) => entry.path));
  return Object.fromEntries(
    Object.entries(tree).map(([rel, info]) => {
      if (timed.has(rel)) return [rel, info];
      const { mtimeNs: _made, ...rest } = info as Record<string, unknown>;
      return [rel, rest];
    }),
  );
}

describe('writeLayer', () => {
  it('gives the same digest for the same entries, byte for byte', async () => {
    const store = await tempStore();
    const first = await writeLayer(store.content, sampleEntries());
    const second = await writeLayer(store.content, sampleEntries());
    expect(second).toEqual(first);
    const clamped = await writeLayer(store.content, sampleEntries(), { sourceDateEpoch: 1_700_000_000 });
    expect(clamped.diffId).not.toBe(first.diffId);
  });

  it('writes PAX for long names, big ids and binary xattrs, whiteouts as .wh. files', async () => {
    const store = await tempStore();
    const layer = await writeLayer(store.content, sampleEntries(), { sourceDateEpoch: 1_700_000_000 });
    const entries = await listTar(store.content.blobPath(layer.diffId));
    expect(entries.map((e) => e.name)).toEqual([
      'etc/',
      'etc/shadow',
      'bin/ping',
      longName,
      tooLongForUstar,
      'héllo/wörld',
      '.wh.gone',
      'etc/.wh..wh..opq',
    ]);
    const [dir, shadow, ping, long, sym, hard] = entries;
    expect(dir?.type).toBe('directory');
    expect(shadow).toMatchObject({ mode: 0, gid: 42, text: 'secret', mtime: 1_600_000_000 });
    expect(ping?.mode).toBe(0o4755);
    expect(ping?.mtime).toBe(1_700_000_000); // clamped
    expect(ping?.xattrs['security.capability']).toEqual(capability);
    expect(long).toMatchObject({ uid: 3_000_000, gid: 3_000_001, text: 'long' });
    expect(sym).toMatchObject({ type: 'symlink', linkname: `/${'t'.repeat(150)}` });
    expect(hard).toMatchObject({ type: 'hardlink', linkname: 'etc/shadow' });
  });

  it('produces tars GNU tar reads the same way', async () => {
    const store = await tempStore();
    const layer = await writeLayer(store.content, sampleEntries());
    const { stdout } = await execa('tar', ['--numeric-owner', '-tvf', store.content.blobPath(layer.diffId)]);
    const lines = stdout.split('\n');
    expect(lines[1]).toMatch(/^---------- 0\/42 +6 .* etc\/shadow$/);
    expect(lines[2]).toMatch(/^-rwsr-xr-x 0\/0 /);
    expect(lines[3]).toContain('3000000/3000001');
    expect(lines[3]).toContain(longName);
    expect(lines[4]).toContain(`${tooLongForUstar} -> /${'t'.repeat(150)}`);
    expect(lines[5]).toContain('héllo/wörld link to etc/shadow');
  });

  it('reads host files, measuring them when no size is given', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'data'), 'from disk');
    const store = await tempStore();
    const fromDisk = await writeLayer(store.content, [
      { path: 'data', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 5, source: path.join(dir, 'data') },
    ]);
    const inMemory = await writeLayer(store.content, [
      { path: 'data', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: 5, content: Buffer.from('from disk') },
    ]);
    expect(fromDisk).toEqual(inMemory);
    const [entry] = await listTar(store.content.blobPath(fromDisk.diffId));
    expect(entry).toMatchObject({ name: 'data', size: 9, text: 'from disk' });
  });

  it('refuses a host file that shrank after it was listed', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'data'), 'short');
    const store = await tempStore();
    const entry: LayerEntry = {
      path: 'data',
      type: 'file',
      mode: 0o600,
      uid: 0,
      gid: 0,
      mtime: 5,
      size: 100,
      source: path.join(dir, 'data'),
    };
    await expect(writeLayer(store.content, [entry])).rejects.toMatchObject({ code: 'FILE_CHANGED' });
    expect(await store.content.list()).toEqual([]);
  });

  it('unpacks what it writes, in the same pass, as applying the blob unpacks it', async () => {
    const dir = await tempDir();
    // One body bigger than a tar chunk (read in pieces), one small enough to go into a chunk.
    await writeFile(path.join(dir, 'big'), randomBytes(3 * 1024 * 1024 + 7));
    await writeFile(path.join(dir, 'small'), 'small body');
    const host = (name: string, mode: number): LayerEntry => ({
      path: `host/${name}`,
      type: 'file',
      mode,
      uid: 7,
      gid: 8,
      mtime: 1_800_000_000,
      source: path.join(dir, name),
    });
    const entries = [...sampleEntries(), host('big', 0o600), host('small', 0o2755)];
    for (const options of [{}, { sourceDateEpoch: 1_700_000_000 }]) {
      const store = await tempStore();
      const unpackInto = path.join(await tempDir(), 'same-pass');
      await mkdir(unpackInto);
      const { files: _list, ...layer } = await writeLayer(store.content, entries, { ...options, unpackInto });
      expect(layer).toEqual(await writeLayer((await tempStore()).content, entries, options));
      const applied = path.join(await tempDir(), 'applied');
      await mkdir(applied);
      await applyLayer(createReadStream(store.content.blobPath(layer.diffId)), applied, { format: 'overlay' });
      expect(layerTimes(await describeTree(unpackInto, { times: true }), entries)).toEqual(
        layerTimes(await describeTree(applied, { times: true }), entries),
      );
    }
  });

  it('shares with an earlier snapshot exactly the files whose metadata and bytes are the same', async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    const big = randomBytes(3 * 1024 * 1024 + 7);
    const bigChanged = Buffer.from(big);
    bigChanged.writeUInt8(big.readUInt8(2 * 1024 * 1024 + 5) ^ 0xff, 2 * 1024 * 1024 + 5);
    const sources: Record<string, Buffer> = {
      'same-small': Buffer.from('same small'),
      'same-big': big,
      'twin-a': Buffer.from('twin'),
      'twin-b': Buffer.from('twin'),
      'mode-changed': Buffer.from('mode'),
      'xattr-added': Buffer.from('xattr added'),
      'xattr-dropped': Buffer.from('xattr dropped'),
    };
    for (const [name, body] of Object.entries(sources)) await writeFile(path.join(dir, name), body);
    await writeFile(path.join(dir, 'big-then'), big);
    await writeFile(path.join(dir, 'big-now'), bigChanged);
    await writeFile(path.join(dir, 'small-then'), 'small v1');
    await writeFile(path.join(dir, 'small-now'), 'small v2');
    await writeFile(path.join(outside, 'f'), 'outside');
    const file = (name: string, source = name, extra: Partial<LayerEntry> = {}): LayerEntry => ({
      path: `src/${name}`,
      type: 'file',
      mode: 0o644,
      uid: 7,
      gid: 8,
      mtime: 1_800_000_000,
      source: path.join(dir, source),
      ...extra,
    });
    const note = { 'user.note': Buffer.from('x') };
    const inode = async (file: string) => (await lstat(file)).ino;
    const dirEntry = (name: string): LayerEntry => ({
      path: name,
      type: 'directory',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 1,
    });
    const then: LayerEntry[] = [
      dirEntry('src'),
      file('big-changed', 'big-then'),
      { ...file('escape'), type: 'symlink', source: undefined, linkname: outside },
      file('mode-changed'),
      file('same-big'),
      file('same-small'),
      file('small-changed', 'small-then'),
      file('twin-a'),
      { ...file('twin-b'), type: 'hardlink', source: undefined, linkname: 'src/twin-a' },
      file('xattr-added'),
      file('xattr-dropped', 'xattr-dropped', { xattrs: note }),
    ];
    const now: LayerEntry[] = [
      dirEntry('src'),
      file('big-changed', 'big-now'),
      dirEntry('src/escape'),
      { ...file('escape/f'), source: path.join(outside, 'f') },
      file('mode-changed', 'mode-changed', { mode: 0o600 }),
      file('same-big'),
      file('same-small'),
      file('small-changed', 'small-now'),
      file('twin-a'),
      file('twin-b'),
      file('xattr-added', 'xattr-added', { xattrs: note }),
      file('xattr-dropped'),
    ];
    // Decided byte by byte (an earlier snapshot without a file list), or small files by the list.
    for (const withList of [false, true]) {
      const store = await tempStore();
      const earlier = path.join(await tempDir(), 'earlier');
      const later = path.join(await tempDir(), 'later');
      await mkdir(earlier);
      await mkdir(later);
      const first = await writeLayer(store.content, then, { unpackInto: earlier });
      expect(first.files).toContain(' src/same-small\n');
      expect(first.files).not.toContain(' src/same-big\n');
      const sameFilesFrom = withList ? { dir: earlier, files: first.files ?? '' } : { dir: earlier };
      const layer = await writeLayer(store.content, now, { unpackInto: later, sameFilesFrom });

      // The layer is what it is without sharing, and the snapshot is what unpacking it gives.
      const { files: _list, ...ref } = layer;
      expect(ref).toEqual(await writeLayer((await tempStore()).content, now));
      const applied = path.join(await tempDir(), 'applied');
      await mkdir(applied);
      await applyLayer(createReadStream(store.content.blobPath(layer.diffId)), applied, { format: 'overlay' });
      expect(layerTimes(await describeTree(later, { times: true }), now)).toEqual(
        layerTimes(await describeTree(applied, { times: true }), now),
      );
      const shared = async (name: string) =>
        (await inode(path.join(later, 'src', name))) === (await inode(path.join(earlier, 'src', name)));
      for (const name of ['same-small', 'same-big', 'twin-a'])
        expect(await shared(name), `${name} ${withList}`).toBe(true);
      // Different bytes (same size and time), metadata or xattrs; and a twin the layer keeps apart.
      for (const name of ['big-changed', 'small-changed', 'mode-changed', 'xattr-added', 'xattr-dropped', 'twin-b'])
        expect(await shared(name), `${name} ${withList}`).toBe(false);
      // The earlier snapshot's symlink is never followed out of it.
      expect(await inode(path.join(later, 'src/escape/f'))).not.toBe(await inode(path.join(outside, 'f')));
    }
  });

  it('writes a listed file the earlier snapshot no longer has', async () => {
    const entries: LayerEntry[] = ['a', 'b'].map((name) => ({
      path: name,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 1_800_000_000,
      content: Buffer.from(`body ${name}`),
    }));
    const store = await tempStore();
    const [earlier, later] = [path.join(await tempDir(), 'earlier'), path.join(await tempDir(), 'later')];
    await mkdir(earlier);
    await mkdir(later);
    const first = await writeLayer(store.content, entries, { unpackInto: earlier });
    await rm(path.join(earlier, 'a'));
    await writeLayer(store.content, entries, {
      unpackInto: later,
      sameFilesFrom: { dir: earlier, files: first.files ?? '' },
    });
    expect(await readFile(path.join(later, 'a'), 'utf8')).toBe('body a');
    expect((await lstat(path.join(later, 'b'))).ino).toBe((await lstat(path.join(earlier, 'b'))).ino);
  });

  it('refuses entry paths that are not clean relative paths', async () => {
    const store = await tempStore();
    for (const bad of ['../x', '/abs', 'a/../b', 'a//b', '']) {
      const entry: LayerEntry = {
        path: bad,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
        content: Buffer.from(''),
      };
      await expect(writeLayer(store.content, [entry])).rejects.toMatchObject({ code: 'BAD_ENTRY' });
    }
  });
});

describe('walkDir → writeLayer → applyLayer(merged)', () => {
  it('round-trips modes, owners, setuid, xattrs, symlinks, hardlinks and fifos', async () => {
    const src = await tempDir();
    await mkdir(path.join(src, 'bin'));
    await writeFile(path.join(src, 'bin', 'tool'), 'tool');
    await chown(path.join(src, 'bin', 'tool'), 1000, 2000);
    await chmod(path.join(src, 'bin', 'tool'), 0o4751);
    await setAttribute(path.join(src, 'bin', 'tool'), 'security.capability', capability);
    await setAttribute(path.join(src, 'bin', 'tool'), 'user.note', 'kept');
    await link(path.join(src, 'bin', 'tool'), path.join(src, 'bin', 'tool-alias'));
    await symlink('/run', path.join(src, 'var-run'));
    await execa('mknod', [path.join(src, 'pipe'), 'p']);
    await utimes(path.join(src, 'bin'), 1_500_000_000, 1_500_000_000);

    const store = await tempStore();
    const layer = await writeLayer(store.content, walkDir(src));
    const dest = await tempDir();
    await applyLayer(createReadStream(store.content.blobPath(layer.diffId)), dest, { format: 'merged' });

    const tool = await lstat(path.join(dest, 'bin', 'tool'));
    expect(tool.mode & 0o7777).toBe(0o4751);
    expect([tool.uid, tool.gid]).toEqual([1000, 2000]);
    expect(tool.nlink).toBe(2);
    expect((await lstat(path.join(dest, 'bin', 'tool-alias'))).ino).toBe(tool.ino);
    expect(await getAttribute(path.join(dest, 'bin', 'tool'), 'security.capability')).toEqual(capability);
    expect((await getAttribute(path.join(dest, 'bin', 'tool'), 'user.note'))?.toString()).toBe('kept');
    expect(await readFile(path.join(dest, 'bin', 'tool'), 'utf8')).toBe('tool');
    expect(await readlink(path.join(dest, 'var-run'))).toBe('/run');
    expect((await lstat(path.join(dest, 'pipe'))).isFIFO()).toBe(true);
    expect((await lstat(path.join(dest, 'bin'))).mtimeMs).toBe(1_500_000_000_000);

    // Walking the result again gives the very same layer.
    const again = await writeLayer(store.content, walkDir(dest));
    expect(again.diffId).toBe(layer.diffId);
  });
});
