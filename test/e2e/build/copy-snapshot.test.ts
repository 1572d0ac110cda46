/**
 * COPY, ADD and WORKDIR write their layer and its snapshot in one pass (the layer writer unpacks
 * what it writes), so the RUN after them mounts the snapshot at once. The snapshot must be what
 * unpacking the layer gives: entries, modes (setuid included), owners, contents, xattrs,
 * hardlinks, symlinks, mtimes (clamped by SOURCE_DATE_EPOCH), parents with the image's existing
 * metadata. A step no later step reads makes no snapshot.
 */
import { link, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { chainIds } from '../../../store/snapshotter.js';
import { xattr } from '../../../sys/xattr.js';
import { canRunPrivileged } from '../../helpers/host.js';
import {
  build,
  buildOk,
  cli,
  inspect,
  loadedStore,
  readIn,
  tempDir,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';
import { describeTree, snapshotDir, unpackedLayer } from '../../helpers/snapshot-tree.js';

const enabled = await canRunPrivileged();

/** A context with modes, a symlink, a hardlink, an xattr, an empty dir and an archive to ADD. */
async function richContext(dockerfile: string): Promise<string> {
  const context = await writeContext({
    Dockerfile: dockerfile,
    'tree/a.txt': { content: 'alpha\n', mode: 0o640 },
    'tree/sub/b.sh': { content: '#!/bin/sh\necho b\n', mode: 0o755 },
    'tree/sub/link': { symlink: '../a.txt' },
    'tree/empty/': '',
    'tool.sh': { content: '#!/bin/sh\necho tool\n', mode: 0o700 },
  });
  await link(path.join(context, 'tree/a.txt'), path.join(context, 'tree/sub/hard.txt'));
  xattr().setAttributeSync(path.join(context, 'tree/a.txt'), 'user.note', Buffer.from([0, 1, 2, 255]));
  await utimes(path.join(context, 'tree/sub/b.sh'), 1_200_000_000, 1_200_000_000);
  // The archive ADD extracts: its own owners, a setgid dir, times from 2001.
  const source = await tempDir('archive-src');
  await writeFile(path.join(source, 'data.txt'), 'archived\n');
  await execa('mkdir', ['-p', path.join(source, 'shared')]);
  await execa('chmod', ['2775', path.join(source, 'shared')]);
  await execa('tar', [
    '-C',
    source,
    '--owner=1000',
    '--group=1000',
    '--mtime=@1000000000',
    '-cf',
    path.join(context, 'bundle.tar'),
    '.',
  ]);
  return context;
}

const dockerfile = [
  'FROM busybox',
  // A parent dir the COPY goes into, with its own owner and mode: the layer repeats them.
  'RUN mkdir -p /app/existing && chown 5:6 /app/existing && chmod 0750 /app/existing',
  'COPY --chown=7:8 tree/ /app/existing/tree/',
  'COPY --chmod=4755 tool.sh /usr/local/bin/tool',
  'ADD bundle.tar /opt/bundle/',
  'WORKDIR /work/deep/dir',
  'COPY <<EOT /notes.txt',
  'noted',
  'EOT',
  'RUN cat /notes.txt /app/existing/tree/sub/hard.txt > /seen && ls -ln /opt/bundle > /listing',
  '',
].join('\n');

/** Layers of `tag` whose snapshots the COPY/ADD/WORKDIR steps made (every layer but the base and RUNs). */
async function synthesisedLayers(store: string, tag: string): Promise<{ diffId: string; chainId: string }[]> {
  const image = await inspect(store, tag);
  const layers = image.RootFS.Layers;
  const chain = chainIds(layers as `sha256:${string}`[]);
  const made = image.History.filter((entry) => entry.empty_layer !== true);
  return layers
    .map((diffId, index) => ({ diffId, chainId: chain[index]!, by: made[index]?.created_by ?? '' }))
    .filter(({ by }, index) => index > 0 && !by.startsWith('RUN') && !by.includes('/bin/sh -c'))
    .map(({ diffId, chainId }) => ({ diffId, chainId }));
}

describe.skipIf(!enabled)('COPY, ADD and WORKDIR snapshots made while the layer is written', () => {
  let store: string;
  beforeAll(async () => {
    store = await loadedStore();
  });

  it('are the unpacked layer, and the RUN reads them', async () => {
    await buildOk(store, ['-t', 'one-pass:1', await richContext(dockerfile)]);
    const layers = await synthesisedLayers(store, 'one-pass:1');
    // COPY tree, COPY tool, ADD, WORKDIR, COPY heredoc.
    expect(layers).toHaveLength(5);
    for (const { diffId, chainId } of layers) {
      const snapshot = snapshotDir(store, chainId);
      expect(await describeTree(snapshot, { times: true })).toEqual(
        await describeTree(await unpackedLayer(store, diffId), { times: true }),
      );
    }
    const tree = await describeTree(snapshotDir(store, layers[0]!.chainId));
    expect(tree['app/existing']).toMatchObject({ uid: 5, gid: 6, mode: 0o40750 });
    expect(tree['app/existing/tree/a.txt']).toMatchObject({ uid: 7, gid: 8, attrs: { 'user.note': '000102ff' } });
    expect(tree['app/existing/tree/sub/hard.txt']).toMatchObject({ sameInodeAs: 'app/existing/tree/a.txt' });
    expect(tree['app/existing/tree/sub/link']).toMatchObject({ kind: 'link ../a.txt' });
    expect((await describeTree(snapshotDir(store, layers[1]!.chainId)))['usr/local/bin/tool']).toMatchObject({
      mode: 0o104755,
    });
    expect((await describeTree(snapshotDir(store, layers[2]!.chainId)))['opt/bundle/shared']).toMatchObject({
      mode: 0o42775,
      uid: 1000,
    });
    const rootfs = await unpack(store, 'one-pass:1');
    expect(await readIn(rootfs, 'seen')).toBe('noted\nalpha\n');
    expect(await readIn(rootfs, 'listing')).toMatch(/1000 +1000 .* data\.txt/);
  });

  it('with SOURCE_DATE_EPOCH hold the clamped times the next step sees', async () => {
    const context = await writeContext({
      Dockerfile: 'FROM busybox\nCOPY files/ /files/\nRUN stat -c %Y /files/new.txt /files/old.txt > /mtimes\n',
      'files/new.txt': 'new\n',
      'files/old.txt': 'old\n',
    });
    await utimes(path.join(context, 'files/old.txt'), 900_000_000, 900_000_000);
    await buildOk(store, ['-t', 'one-pass-epoch:1', context], { env: { SOURCE_DATE_EPOCH: '1000000000' } });
    const [copied] = await synthesisedLayers(store, 'one-pass-epoch:1');
    const snapshot = snapshotDir(store, copied!.chainId);
    expect(await describeTree(snapshot, { times: true })).toEqual(
      await describeTree(await unpackedLayer(store, copied!.diffId), { times: true }),
    );
    expect((await stat(path.join(snapshot, 'files/new.txt'))).mtimeMs).toBe(1_000_000_000_000);
    expect(await readIn(await unpack(store, 'one-pass-epoch:1'), 'mtimes')).toBe('1000000000\n900000000\n');
  });

  it('are made by the step itself, not by the step that reads them', async () => {
    // The second COPY fails on its missing source before it reads the image, so only the first
    // COPY can have made the snapshot holding its file.
    const fresh = await loadedStore();
    const context = await writeContext({
      Dockerfile: 'FROM busybox\nCOPY only-here.txt /only-here.txt\nCOPY missing.txt /m\n',
      'only-here.txt': 'here\n',
    });
    const failed = await build(fresh, [context]);
    expect(failed.exitCode, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('missing.txt');
    const holding = (await readdir(path.join(fresh, 'snapshots'))).filter((hex) =>
      existsSync(path.join(fresh, 'snapshots', hex, 'only-here.txt')),
    );
    expect(holding).toHaveLength(1);
    expect(existsSync(path.join(fresh, 'meta', 'snapshots', holding[0]!))).toBe(true);
  });

  it('in a multi-stage build: the stage copied from has one, the last COPY of the target none', async () => {
    const context = await writeContext({
      Dockerfile: 'FROM busybox AS src\nCOPY g.txt /g.txt\n\nFROM busybox\nCOPY --from=src /g.txt /copied.txt\n',
      'g.txt': 'g\n',
    });
    await buildOk(store, ['-t', 'one-pass-stage:1', context]);
    const holding = (await readdir(path.join(store, 'snapshots'))).filter((hex) =>
      existsSync(path.join(store, 'snapshots', hex, 'g.txt')),
    );
    expect(holding).toHaveLength(1);
    // The target's own last COPY is read by nothing: no snapshot holds copied.txt.
    const copied = (await readdir(path.join(store, 'snapshots'))).filter((hex) =>
      existsSync(path.join(store, 'snapshots', hex, 'copied.txt')),
    );
    expect(copied).toEqual([]);
  });

  it('share the files that stay the same with the snapshot the same COPY made last time', async () => {
    const fresh = await loadedStore();
    const context = await writeContext({
      Dockerfile: [
        'FROM busybox',
        'ARG BELOW=1',
        'RUN echo $BELOW > /below',
        'COPY data/ /data/',
        // Changes a shared file in the container: overlayfs copies it up, the lowerdirs keep theirs.
        'RUN cat /data/changing.txt > /seen && echo more >> /data/keep.txt',
        '',
      ].join('\n'),
      'data/keep.txt': 'kept\n',
      'data/sub/big.bin': 'x'.repeat(3 * 1024 * 1024),
      'data/changing.txt': 'v1\n',
      'data/tagged.txt': 'same bytes, an xattr added\n',
    });
    await buildOk(fresh, ['-t', 'shared:1', context]);
    await writeFile(path.join(context, 'data/changing.txt'), 'v2\n');
    xattr().setAttributeSync(path.join(context, 'data/tagged.txt'), 'user.note', Buffer.from('added'));
    const rebuilt = await buildOk(fresh, ['-t', 'shared:2', context]);
    expect(rebuilt.stderr).toContain('changed: file data/changing.txt (content), file data/tagged.txt (content)');
    const [first] = await synthesisedLayers(fresh, 'shared:1');
    const [second] = await synthesisedLayers(fresh, 'shared:2');
    const before = snapshotDir(fresh, first!.chainId);
    const after = snapshotDir(fresh, second!.chainId);
    // Still exactly the unpacked layer (no hardlink group the layer does not have).
    expect(await describeTree(after, { times: true })).toEqual(
      await describeTree(await unpackedLayer(fresh, second!.diffId), { times: true }),
    );
    const inode = async (dir: string, file: string) => (await stat(path.join(dir, file))).ino;
    for (const file of ['data/keep.txt', 'data/sub/big.bin'])
      expect(await inode(after, file), file).toBe(await inode(before, file));
    expect(await inode(after, 'data/changing.txt')).not.toBe(await inode(before, 'data/changing.txt'));
    expect(await inode(after, 'data/tagged.txt')).not.toBe(await inode(before, 'data/tagged.txt'));
    expect((await describeTree(after))['data/tagged.txt']).toMatchObject({
      attrs: { 'user.note': Buffer.from('added').toString('hex') },
    });
    // Over other layers below, the COPY shares nothing: that snapshot could be in the same stack.
    await buildOk(fresh, ['-t', 'shared:3', '--build-arg', 'BELOW=2', context]);
    const [third] = await synthesisedLayers(fresh, 'shared:3');
    expect(await inode(snapshotDir(fresh, third!.chainId), 'data/keep.txt')).not.toBe(
      await inode(after, 'data/keep.txt'),
    );
    const rootfs = await unpack(fresh, 'shared:2');
    expect(await readIn(rootfs, 'seen')).toBe('v2\n');
    expect(await readIn(rootfs, 'data/keep.txt')).toBe('kept\nmore\n');
    expect(await readFile(path.join(before, 'data/keep.txt'), 'utf8')).toBe('kept\n');
    // Removing the first image and pruning takes its snapshot; the second keeps its files.
    await cli(fresh, ['rmi', 'shared:1']);
    await cli(fresh, ['builder', 'prune', '-a']);
    await cli(fresh, ['prune']);
    expect(existsSync(before)).toBe(false);
    expect(await readFile(path.join(after, 'data/keep.txt'), 'utf8')).toBe('kept\n');
    expect(await cli(fresh, ['system', 'fsck'])).toContain('fsck: 0 problems found');
  });

  it('are not made for a last COPY that no later step reads', async () => {
    const context = await writeContext({
      Dockerfile: 'FROM busybox\nCOPY f.txt /f.txt\nCMD ["cat", "/f.txt"]\n',
      'f.txt': 'f\n',
    });
    await buildOk(store, ['-t', 'one-pass-last:1', context]);
    const [copied] = await synthesisedLayers(store, 'one-pass-last:1');
    expect(existsSync(snapshotDir(store, copied!.chainId))).toBe(false);
  });
});
