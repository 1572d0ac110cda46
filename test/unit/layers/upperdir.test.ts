import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setAttribute } from '@napi-rs/xattr';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../cli/compose.js';
import { splitDevice, walkDir, walkUpperdir } from '../../../layers/upperdir.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir } from '../../helpers/layers.js';

async function collect(entries: AsyncIterable<LayerEntry>): Promise<LayerEntry[]> {
  const list: LayerEntry[] = [];
  for await (const entry of entries) list.push(entry);
  return list;
}

describe('walkUpperdir / walkDir', () => {
  it('walks depth first in byte order, dirs before their children', async () => {
    const dir = await tempDir();
    for (const sub of ['a', 'a/c', 'a-b', 'B']) await mkdir(path.join(dir, sub));
    await writeFile(path.join(dir, 'a', 'c', 'f'), '');
    await writeFile(path.join(dir, 'a', 'Z'), '');
    const paths = (await collect(walkDir(dir))).map((entry) => entry.path);
    expect(paths).toEqual(['B', 'a', 'a/Z', 'a/c', 'a/c/f', 'a-b']);
  });

  it('keeps devices, owners, setuid and capability xattrs; drops overlay xattrs', async () => {
    const dir = await tempDir();
    await execa('mknod', ['-m', '666', path.join(dir, 'null'), 'c', '1', '3']);
    await execa('mknod', ['-m', '660', path.join(dir, 'loop9'), 'b', '7', '9']);
    await writeFile(path.join(dir, 'su'), 'x');
    await chown(path.join(dir, 'su'), 0, 5);
    await chmod(path.join(dir, 'su'), 0o4755);
    await setAttribute(
      path.join(dir, 'su'),
      'security.capability',
      Buffer.from([1, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    );
    await setAttribute(path.join(dir, 'su'), 'trusted.overlay.origin', 'x');
    await symlink('su', path.join(dir, 'link'));
    const byPath = new Map((await collect(walkUpperdir(dir))).map((entry) => [entry.path, entry]));
    expect(byPath.get('null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3, mode: 0o666 });
    expect(byPath.get('loop9')).toMatchObject({ type: 'block', devmajor: 7, devminor: 9 });
    const su = byPath.get('su');
    expect(su).toMatchObject({ type: 'file', mode: 0o4755, uid: 0, gid: 5, size: 1 });
    expect(Object.keys(su?.xattrs ?? {})).toEqual(['security.capability']);
    expect(byPath.get('link')).toMatchObject({ type: 'symlink', linkname: 'su', xattrs: {} });
  });

  it('treats a 0/0 char device as a whiteout only in an upperdir', async () => {
    const dir = await tempDir();
    await execa('mknod', [path.join(dir, 'gone'), 'c', '0', '0']);
    expect((await collect(walkUpperdir(dir)))[0]).toMatchObject({ path: 'gone', type: 'whiteout' });
    expect((await collect(walkDir(dir)))[0]).toMatchObject({ path: 'gone', type: 'char', devmajor: 0, devminor: 0 });
  });

  it('refuses overlay redirects, which a layer cannot express', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'moved'));
    await setAttribute(path.join(dir, 'moved'), 'trusted.overlay.redirect', '/orig');
    await expect(collect(walkUpperdir(dir))).rejects.toThrow(/moved uses overlay redirect/);
  });

  it('splits dev_t like glibc', () => {
    expect(splitDevice(0x0103n)).toEqual({ major: 1, minor: 3 });
    expect(splitDevice(((0x1234n << 8n) & 0xfff00n) | 0x56n)).toEqual({ major: 0x234, minor: 0x56 });
  });
});

describe('openStore', () => {
  it('opens content, tags and snapshots on one root', async () => {
    const root = await tempDir();
    const store = await openStore(root);
    expect(store.root).toBe(root);
    expect(store.content.root).toBe(root);
    expect(await store.tags.list()).toEqual([]);
    expect(await store.snapshotter.prepare([])).toEqual([]);
  });
});
