import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { getAttribute } from '@napi-rs/xattr';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { applyLayer } from '../../../layers/layer-apply.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import { chainIds, FsSnapshotter } from '../../../store/snapshotter.js';
import { walkDir, walkUpperdir } from '../../../layers/upperdir.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir, tempStore } from '../../helpers/layers.js';

const mounted: string[] = [];
afterEach(async () => {
  for (const dir of mounted.splice(0).reverse()) await execa('umount', [dir]);
});

async function mountOverlay(lowerdirs: string[], upper?: { upper: string; work: string }): Promise<string> {
  const merged = await tempDir('tzb-merged-');
  // overlay lists lowerdirs top first; ours are lowest first.
  const options = [`lowerdir=${[...lowerdirs].reverse().join(':')}`];
  if (upper) options.push(`upperdir=${upper.upper}`, `workdir=${upper.work}`);
  await execa('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), merged]);
  mounted.push(merged);
  return merged;
}

async function tree(dir: string): Promise<Record<string, string>> {
  const view: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const stats = await lstat(path.join(dir, name));
    view[name] = stats.isDirectory() ? 'dir' : await readFile(path.join(dir, name), 'utf8');
  }
  return view;
}

async function collect(entries: AsyncIterable<LayerEntry>): Promise<LayerEntry[]> {
  const list: LayerEntry[] = [];
  for await (const entry of entries) list.push(entry);
  return list;
}

describe('overlay round trip: upperdir → layer → snapshot → overlay view', () => {
  it('keeps deletions (whiteouts) and replaced directories (opaque)', async () => {
    const store = await tempStore();
    const snapshotter = new FsSnapshotter(store.content);

    const base = await tempDir();
    await mkdir(path.join(base, 'dir'));
    await writeFile(path.join(base, 'keep.txt'), 'keep');
    await writeFile(path.join(base, 'del.txt'), 'delete me');
    await writeFile(path.join(base, 'dir', 'a'), 'a');
    await writeFile(path.join(base, 'dir', 'b'), 'b');
    const layer1 = await writeLayer(store.content, walkDir(base));
    const [snap1] = await snapshotter.prepare([layer1]);

    // A "RUN" step: change things in the merged view, capture the upperdir.
    const work = await tempDir();
    const upper = path.join(work, 'upper');
    const scratch = path.join(work, 'work');
    await mkdir(upper);
    await mkdir(scratch);
    const merged = await mountOverlay([snap1 as string], { upper, work: scratch });
    await rm(path.join(merged, 'del.txt'));
    await rm(path.join(merged, 'dir'), { recursive: true });
    await mkdir(path.join(merged, 'dir'));
    await writeFile(path.join(merged, 'dir', 'c'), 'c');
    await writeFile(path.join(merged, 'new.txt'), 'new');
    await execa('umount', [mounted.pop() as string]);

    const entries = await collect(walkUpperdir(upper));
    expect(entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      'whiteout:del.txt',
      'directory:dir',
      'opaque:dir',
      'file:dir/c',
      'file:new.txt',
    ]);
    const layer2 = await writeLayer(store.content, entries);

    const dirs = await snapshotter.prepare([layer1, layer2]);
    const [, chain2] = chainIds([layer1.diffId, layer2.diffId]);
    expect(dirs[1]).toBe(snapshotter.snapshotDir(chain2!));
    const whiteout = await lstat(path.join(dirs[1] as string, 'del.txt'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect((await getAttribute(path.join(dirs[1] as string, 'dir'), 'trusted.overlay.opaque'))?.toString()).toBe('y');

    const expected = { dir: 'dir', 'dir/c': 'c', 'keep.txt': 'keep', 'new.txt': 'new' };
    expect(await tree(await mountOverlay(dirs))).toEqual(expected);

    // The same two layers applied in 'merged' format give the same tree.
    const flat = await tempDir();
    for (const layer of [layer1, layer2]) {
      await applyLayer(createReadStream(store.content.blobPath(layer.diffId)), flat, { format: 'merged' });
    }
    expect(await tree(flat)).toEqual(expected);
  });

  it('unpacks each layer once, even when prepared concurrently', async () => {
    const store = await tempStore();
    const snapshotter = new FsSnapshotter(store.content);
    const layer = await writeLayer(store.content, [
      { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from('x') },
    ]);
    const results = await Promise.all([
      snapshotter.prepare([layer]),
      snapshotter.prepare([layer]),
      new FsSnapshotter(store.content).prepare([layer]),
    ]);
    expect(new Set(results.flat()).size).toBe(1);
    expect(await readdir(path.join(store.root, 'snapshots'))).toEqual([layer.diffId.slice(7)]);
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
    expect(await readFile(path.join(results[0]![0]!, 'f'), 'utf8')).toBe('x');
  });

  it('refuses to unpack a layer that is not in the store', async () => {
    const store = await tempStore();
    const missing = { diffId: `sha256:${'0'.repeat(64)}` as const, size: 1 };
    await expect(new FsSnapshotter(store.content).prepare([missing])).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  });
});
