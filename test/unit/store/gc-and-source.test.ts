import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../../store/gc.js';
import { commitImage, removeTag } from '../../../store/images.js';
import { parseLayoutSpec, StoreImageSource } from '../../../archive/store-image-source.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import type { ImageConfig } from '../../../core/oci.js';
import { FsSnapshotter } from '../../../store/snapshotter.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir, tempStore } from '../../helpers/layers.js';

function file(name: string, content: string): LayerEntry {
  return { path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from(content) };
}

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: {},
  rootfs: { type: 'layers', diff_ids: [] },
  history: [],
};

describe('collectGarbage', () => {
  it('removes what no tag reaches, keeps tagged images, cache roots and young blobs', async () => {
    const store = await tempStore();
    const snapshotter = new FsSnapshotter(store.content);
    const shared = await writeLayer(store.content, [file('s', 'shared')]);
    const onlyOld = await writeLayer(store.content, [file('o', 'old')]);
    const cached = await writeLayer(store.content, [file('c', 'cached')]);
    const kept = await commitImage(store, ['keep:1'], { ...config, config: { Cmd: ['k'] } }, [shared]);
    const dropped = await commitImage(store, ['drop:1'], { ...config, config: { Cmd: ['d'] } }, [shared, onlyOld]);
    await snapshotter.prepare([shared, onlyOld]);
    await removeTag(store, 'drop:1');

    expect((await collectGarbage(store)).blobsRemoved).toEqual([]); // everything is young

    const dry = await collectGarbage(store, { graceMs: -1000, keep: [cached.diffId], dryRun: true });
    expect(new Set(dry.blobsRemoved)).toEqual(new Set([onlyOld.diffId, dropped.imageId, dropped.manifest.digest]));
    expect(await store.content.has(onlyOld.diffId)).toBe(true);

    const result = await collectGarbage(store, { graceMs: -1000, keep: [cached.diffId] });
    expect(new Set(result.blobsRemoved)).toEqual(new Set(dry.blobsRemoved));
    expect(result.bytesFreed).toBeGreaterThan(onlyOld.size);
    expect(result.snapshotsRemoved).toBe(1);
    for (const digest of [shared.diffId, cached.diffId, kept.imageId, kept.manifest.digest]) {
      expect(await store.content.has(digest)).toBe(true);
    }
    expect(await readdir(path.join(store.root, 'snapshots'))).toEqual([shared.diffId.slice(7)]);
  });
});

describe('StoreImageSource', () => {
  it('resolves store names and oci-layout:// references', async () => {
    const store = await tempStore();
    const layer = await writeLayer(store.content, [file('x', 'x')]);
    const committed = await commitImage(store, ['base:1'], config, [layer]);
    const source = new StoreImageSource(store);
    expect((await source.resolve('base:1')).configDigest).toBe(committed.imageId);

    const work = await tempDir();
    const layout = path.join(work, 'layout');
    await mkdir(layout);
    await execa('skopeo', ['copy', `oci:${store.root}:base:1`, `oci:${layout}:v2`]);
    const other = await tempStore();
    const fromLayout = await new StoreImageSource(other).resolve(`oci-layout://${layout}:v2`);
    expect(fromLayout.configDigest).toBe(committed.imageId);
    expect(await other.content.has(layer.diffId)).toBe(true);
    await expect(new StoreImageSource(other).resolve(`oci-layout://${layout}:nope`)).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
    });
  });

  it('parses layout specs', () => {
    expect(parseLayoutSpec('/a/b:c/d')).toEqual({ dir: '/a/b:c/d' });
    expect(parseLayoutSpec('./dir:tag')).toEqual({ dir: './dir', tag: 'tag' });
    const digest = `sha256:${'e'.repeat(64)}`;
    expect(parseLayoutSpec(`dir@${digest}`)).toEqual({ dir: 'dir', digest });
    expect(() => parseLayoutSpec('dir@sha256:zz')).toThrow(/malformed digest/);
  });
});
