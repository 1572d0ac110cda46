/**
 * A RUN's upperdir becomes the snapshot of its layer (no unpack of the tar it was just written
 * to): the adopted snapshot must be what unpacking that layer gives — same entries, modes,
 * owners, contents, whiteouts and opaque marks, none of overlay's copy-up bookkeeping — and the
 * next step must see it. With SOURCE_DATE_EPOCH the layer is unpacked as before.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { chainIds } from '../../../store/snapshotter.js';
import type { Digest } from '../../../core/oci.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { canRunPrivileged } from '../../helpers/host.js';
import { buildOk, inspect, loadedStore, readIn, unpack, writeContext } from '../../helpers/build-fixture.js';
import { describeTree, snapshotDir, unpackedLayer } from '../../helpers/snapshot-tree.js';

const enabled = await canRunPrivileged();

describe.skipIf(!enabled)('RUN upperdirs kept as snapshots', () => {
  let store: string;
  beforeAll(async () => {
    store = await loadedStore();
  });

  const dockerfile = [
    'FROM busybox',
    'RUN mkdir -p /d/sub && echo one > /d/sub/f && echo two > /d/g && echo x > /gone && chmod 0700 /d/sub',
    // Copy-up of files and dirs of the layer below (overlay records their origin), a deletion, a
    // replaced directory (opaque) and a changed owner.
    'RUN echo more >> /d/sub/f && rm /gone && rm -rf /d && mkdir -p /d && echo new > /d/h && chown 1:2 /d/h && echo ' +
      '>> /etc/passwd',
    'RUN cat /d/h /etc/passwd > /seen',
  ].join('\n');

  it('is the unpacked layer, without overlay bookkeeping, and the next step reads it', async () => {
    const context = await writeContext({ Dockerfile: `${dockerfile}\n` });
    await buildOk(store, ['-t', 'adopt:1', context]);
    const layers = (await inspect(store, 'adopt:1')).RootFS.Layers as Digest[];
    const chain = chainIds(layers);
    for (const index of [layers.length - 2, layers.length - 3]) {
      const ours = await describeTree(snapshotDir(store, chain[index]!));
      expect(JSON.stringify(ours)).not.toMatch(/trusted\.overlay\.(origin|impure|uuid)/);
      expect(ours).toEqual(await describeTree(await unpackedLayer(store, layers[index]!)));
    }
    // Adopted, not unpacked: a tar keeps whole seconds, the upperdir its files' real times.
    const adopted = path.join(store, 'snapshots', chain[layers.length - 2]!.slice('sha256:'.length), 'd', 'h');
    expect((await lstat(adopted, { bigint: true })).mtimeNs % 1_000_000_000n).not.toBe(0n);
    const rootfs = await unpack(store, 'adopt:1');
    expect(await readIn(rootfs, 'seen')).toMatch(/^new\n/);
    expect(await readIn(rootfs, 'd/h')).toBe('new\n');
  });

  it('with SOURCE_DATE_EPOCH the next step sees the clamped times of the unpacked layer', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nRUN echo a > /a\nRUN stat -c %Y /a > /mtime\n' });
    await buildOk(store, ['-t', 'adopt-epoch:1', context], { env: { SOURCE_DATE_EPOCH: '1000000000' } });
    expect(await readIn(await unpack(store, 'adopt-epoch:1'), 'mtime')).toBe('1000000000\n');
  });
});
