/** Multi-platform images in the store: an index tagged by name, resolved per platform, kept by GC, checked by fsck. */
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../../store/gc.js';
import { checkStore } from '../../../store/fsck.js';
import { commitImage, commitIndex, listImages, manifestsOf, removeTag, resolveImage } from '../../../store/images.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import type { ImageConfig } from '../../../core/oci.js';
import { StoreError } from '../../../core/errors.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempStore } from '../../helpers/layers.js';

function file(name: string, content: string): LayerEntry {
  return { path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, content: Buffer.from(content) };
}

function config(architecture: string, variant?: string): ImageConfig {
  return {
    architecture,
    ...(variant ? { variant } : {}),
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: 'test' }],
  };
}

/** A store with `multi:1` naming an index of an amd64, an arm64 and an arm/v7 image. */
async function multiStore() {
  const store = await tempStore();
  const images = [];
  for (const [architecture, variant] of [['amd64'], ['arm64'], ['arm', 'v7']] as const) {
    const layer = await writeLayer(store.content, [file('arch', architecture)]);
    images.push({ architecture, layer, ...(await commitImage(store, [], config(architecture, variant), [layer])) });
  }
  const index = await commitIndex(
    store,
    ['multi:1'],
    images.map((image) => image.manifest),
  );
  return { store, images, index };
}

describe('multi-platform images', () => {
  it('resolve to the platform asked for, the host when none is, and refuse a platform they lack', async () => {
    const { store, images, index } = await multiStore();
    const arm64 = await resolveImage(store, 'multi:1', { os: 'linux', architecture: 'arm64' });
    expect(arm64.configDigest).toBe(images[1]!.imageId);
    expect(arm64.indexDigest).toBe(index.digest);
    // Spellings normalise: aarch64 is arm64, arm without a variant is arm/v7.
    expect((await resolveImage(store, 'multi:1', { os: 'linux', architecture: 'aarch64' })).configDigest).toBe(
      images[1]!.imageId,
    );
    expect((await resolveImage(store, 'multi:1', { os: 'linux', architecture: 'arm' })).configDigest).toBe(
      images[2]!.imageId,
    );
    // By the index digest too.
    expect((await resolveImage(store, index.digest, { os: 'linux', architecture: 'arm64' })).configDigest).toBe(
      images[1]!.imageId,
    );
    const refused = await resolveImage(store, 'multi:1', { os: 'linux', architecture: 's390x' }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).code).toBe('NO_PLATFORM');
    expect((refused as Error).message).toBe(
      'image "multi:1" has no image for linux/s390x (it has: linux/amd64, linux/arm64, linux/arm/v7)',
    );
    expect((await manifestsOf(store, index.digest)).map((entry) => entry.platform?.architecture)).toEqual([
      'amd64',
      'arm64',
      'arm',
    ]);
  });

  it('list one row per platform, each naming the index', async () => {
    const { store, index } = await multiStore();
    const rows = await listImages(store);
    expect(rows.map((row) => [row.tags, row.platform, row.indexDigest])).toEqual([
      [['multi:1'], 'linux/amd64', index.digest],
      [['multi:1'], 'linux/arm64', index.digest],
      [['multi:1'], 'linux/arm/v7', index.digest],
    ]);
  });

  it('keep every platform through GC while tagged, and are whole for fsck', async () => {
    const { store, images, index } = await multiStore();
    const gc = await collectGarbage(store, { graceMs: -1000 });
    expect(gc.blobsRemoved).toEqual([]);
    expect(await checkStore(store)).toEqual([]);
    // A platform's layer gone: the tag is broken, and says which.
    await rm(store.content.blobPath(images[2]!.layer.diffId));
    const problems = await checkStore(store);
    expect(problems).toEqual([
      expect.objectContaining({
        kind: 'broken-tag',
        subject: 'multi:1',
        detail: `layer ${images[2]!.layer.diffId} is missing or corrupt`,
      }),
    ]);
    await removeTag(store, 'multi:1');
    const after = await collectGarbage(store, { graceMs: -1000 });
    expect(after.blobsRemoved).toEqual(expect.arrayContaining([index.digest, images[0]!.manifest.digest]));
  });
});
