import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../../core/digest.js';
import { commitImage, diskUsage, listImages, removeTag, resolveImage } from '../../../store/images.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import { MediaType, type ImageConfig } from '../../../core/oci.js';
import { readFile } from 'node:fs/promises';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir, tempStore } from '../../helpers/layers.js';

function file(name: string, content: string): LayerEntry {
  return { path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, content: Buffer.from(content) };
}

function config(cmd: string): ImageConfig {
  return {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Cmd: [cmd], Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: 'test' }],
  };
}

describe('commitImage / resolveImage', () => {
  it('writes config and manifest, tags, and resolves by name, digest, ID and ID prefix', async () => {
    const store = await tempStore();
    const base = await writeLayer(store.content, [file('a', 'a')]);
    const top = await writeLayer(store.content, [file('b', 'bb')]);
    const committed = await commitImage(store, ['app:1', 'app'], config('run'), [base, top]);

    const configBytes = await readFile(store.content.blobPath(committed.imageId));
    expect(sha256Digest(configBytes)).toBe(committed.imageId);
    expect(JSON.parse(configBytes.toString()).rootfs.diff_ids).toEqual([base.diffId, top.diffId]);
    expect(committed.manifest.platform).toEqual({ architecture: 'amd64', os: 'linux' });

    const byName = await resolveImage(store, 'app:1');
    expect(byName.configDigest).toBe(committed.imageId);
    expect(byName.manifest.mediaType).toBe(MediaType.ociManifest);
    expect(byName.manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    expect(byName.layers).toEqual([base, top]);
    expect((await resolveImage(store, 'app')).manifestDigest).toBe(committed.manifest.digest);
    expect((await resolveImage(store, committed.manifest.digest)).configDigest).toBe(committed.imageId);
    expect((await resolveImage(store, committed.imageId)).manifestDigest).toBe(committed.manifest.digest);
    expect((await resolveImage(store, committed.imageId.slice(7, 19))).configDigest).toBe(committed.imageId);
    await expect(resolveImage(store, 'nope:1')).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    await expect(resolveImage(store, base.diffId)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
  });

  it('gives the same ID for the same config whatever its key order', async () => {
    const store = await tempStore();
    const layer = await writeLayer(store.content, [file('a', 'a')]);
    const first = await commitImage(store, [], config('x'), [layer]);
    const { history, ...rest } = config('x');
    const reordered = JSON.parse(JSON.stringify({ history, ...rest })) as ImageConfig;
    const second = await commitImage(store, [], reordered, [layer]);
    expect(second.imageId).toBe(first.imageId);
    expect(second.manifest.digest).toBe(first.manifest.digest);
    const other = await commitImage(store, [], config('y'), [layer]);
    expect(other.imageId).not.toBe(first.imageId);
  });

  it('refuses to commit an image whose layer is missing', async () => {
    const store = await tempStore();
    const ghost = { diffId: sha256Digest('ghost'), size: 5 };
    await expect(commitImage(store, ['x:1'], config('x'), [ghost])).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  });

  it('lists images with sizes and tags, computes shared size, removes tags', async () => {
    const store = await tempStore();
    const shared = await writeLayer(store.content, [file('shared', 'x'.repeat(5000))]);
    const one = await writeLayer(store.content, [file('one', '1')]);
    const two = await writeLayer(store.content, [file('two', '2')]);
    const a = await commitImage(store, ['a:1', 'a:latest'], config('a'), [shared, one]);
    const b = await commitImage(store, ['b:1'], config('b'), [shared, two]);

    const images = await listImages(store);
    const rowA = images.find((image) => image.id === a.imageId);
    expect(rowA?.tags).toEqual(['a:1', 'a:latest']);
    expect(rowA?.size).toBe(shared.size + one.size);
    expect(images.find((image) => image.id === b.imageId)?.size).toBe(shared.size + two.size);

    const usage = await diskUsage(store);
    expect(usage.images).toBe(2);
    expect(usage.totalImageSize).toBe(2 * shared.size + one.size + two.size);
    expect(usage.uniqueLayerSize).toBe(shared.size + one.size + two.size);
    expect(usage.sharedSize).toBe(shared.size);

    expect(await removeTag(store, 'b:1')).toBe(true);
    expect(await removeTag(store, 'b:1')).toBe(false);
    expect((await listImages(store)).map((image) => image.id)).toEqual([a.imageId]);
  });

  it('is a layout skopeo can read and copy', async () => {
    const store = await tempStore();
    const layer = await writeLayer(store.content, [file('hello.txt', 'hello')]);
    const committed = await commitImage(store, ['app:1'], config('x'), [layer]);
    const { stdout } = await execa('skopeo', ['inspect', '--raw', `oci:${store.root}:app:1`]);
    expect(sha256Digest(stdout)).toBe(committed.manifest.digest);
    const out = await tempDir();
    await execa('skopeo', ['copy', `oci:${store.root}:app:1`, `dir:${out}`]);
    expect(await readFile(`${out}/${layer.diffId.slice(7)}`)).toEqual(
      await readFile(store.content.blobPath(layer.diffId)),
    );
  });
});
