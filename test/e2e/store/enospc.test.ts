/**
 * A full disk: the store lives on a 20 MiB tmpfs. Ingest and unpack fail with one clear
 * StoreError naming what was being written; nothing half-written stays; once space is back the
 * same store builds again.
 */
import { readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../../core/errors.js';
import { checkStore } from '../../../store/fsck.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import { storeLayout } from '../../../store/layout.js';
import { openStore } from '../../../cli/compose.js';
import { BASE, buildOk, readIn, tempDir, unpack, writeContext, build } from '../../helpers/build-fixture.js';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild } from '../../helpers/cli.js';
import { mountsUnder, storeCommand } from './fixture.js';

const mounted: string[] = [];

/** A fresh 20 MiB tmpfs, unmounted after the file. */
async function smallDisk(): Promise<string> {
  const dir = await tempDir('tmpfs');
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=20m,mode=0755', 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

async function freeBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
}

afterAll(async () => {
  for (const dir of mounted.splice(0)) await execa('umount', ['-l', dir], { reject: false });
});

describe('a full store disk', () => {
  let archive: string;
  beforeAll(async () => {
    archive = await makeBusyboxDockerArchive(path.join(await tempDir('archive'), 'busybox.tar'), BASE);
  });

  it('fails a build whose layer does not fit with one line naming the ingest, then builds again', async () => {
    const store = await smallDisk();
    expect((await runTzbuild(['load', '--root', store, archive])).exitCode).toBe(0);
    // RUN writes 60% of what is left; its layer needs as much again in ingest/, which cannot fit.
    const busyboxSnapshot = 3 * 1024 * 1024;
    const kib = Math.floor((((await freeBytes(store)) - busyboxSnapshot) * 0.6) / 1024);
    const big = await writeContext({
      Dockerfile: `FROM busybox:latest\nRUN dd if=/dev/zero of=/big bs=1k count=${kib} 2>/dev/null\n`,
    });
    const failed = await build(store, ['-t', 'big:1', big]);
    expect(failed.exitCode).toBe(1);
    const errorLines = failed.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errorLines).toEqual([
      expect.stringMatching(
        new RegExp(
          // The RUN on line 2 is the step whose layer did not fit.
          '^error: .*Dockerfile:2: no space left on device while writing a blob to .*/ingest ' +
            '\\(free some space or run `tzbuild builder prune`\\)$',
        ),
      ),
    ]);
    expect(failed.stderr).not.toContain('internal error');

    expect(await readdir(storeLayout(store).ingest)).toEqual([]);
    const fsck = await storeCommand(store, ['system', 'fsck']);
    expect(fsck.stdout + fsck.stderr).toContain('fsck: 0 problems found');
    // The tmpfs itself is the only mount left (no overlay of the failed step).
    expect(await mountsUnder(store)).toEqual([store]);

    const small = await writeContext({ Dockerfile: 'FROM busybox:latest\nRUN echo fits > /small\n' });
    await buildOk(store, ['-t', 'small:1', small]);
    expect(await readIn(await unpack(store, 'small:1'), '/small')).toBe('fits\n');
  });

  it('fails a COPY whose layer and snapshot do not fit with one line, leaving no half snapshot', async () => {
    const store = await smallDisk();
    expect((await runTzbuild(['load', '--root', store, archive])).exitCode).toBe(0);
    // The COPY writes its layer and, for the RUN after it, its snapshot: twice 60% of what is left.
    const size = Math.floor((await freeBytes(store)) * 0.6);
    const context = await writeContext({
      Dockerfile: 'FROM busybox:latest\nCOPY big.bin /big.bin\nRUN true\n',
      'big.bin': Buffer.alloc(size, 1),
    });
    const failed = await build(store, ['-t', 'copied:1', context]);
    expect(failed.exitCode).toBe(1);
    const errorLines = failed.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errorLines).toEqual([
      expect.stringMatching(
        // Whichever fills the disk first: the tar in ingest/ or the snapshot in the scratch dir.
        new RegExp(
          "^error: .*Dockerfile:2: no space left on device while writing (a blob to .*/ingest|the layer's snapshot " +
            'into .*/tmp/.*) \\(free some space or run `tzbuild builder prune`\\)$',
        ),
      ),
    ]);
    expect(failed.stderr).not.toContain('internal error');
    expect(await readdir(storeLayout(store).ingest)).toEqual([]);
    const fsck = await storeCommand(store, ['system', 'fsck']);
    expect(fsck.stdout + fsck.stderr).toContain('fsck: 0 problems found');
    expect((await readdir(storeLayout(store).snapshots)).length).toBe(1); // busybox's, from the COPY's view
  });

  it('fails an unpack that does not fit with a StoreError naming the layer, leaving no half snapshot', async () => {
    const root = await smallDisk();
    const store = await openStore(root);
    const size = Math.floor((await freeBytes(root)) * 0.6);
    const layer = await writeLayer(store.content, [
      { path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.alloc(size) },
    ]);
    const attempt = store.snapshotter.prepare([layer]);
    await expect(attempt).rejects.toBeInstanceOf(StoreError);
    await expect(store.snapshotter.prepare([layer])).rejects.toThrow(
      `no space left on device while unpacking layer ${layer.diffId} into ${storeLayout(root).snapshots}`,
    );
    expect(await readdir(storeLayout(root).snapshots)).toEqual([]);
    expect(await readdir(storeLayout(root).tmp)).toEqual([path.basename(store.tmpDir)]);
    expect(await checkStore(store)).toEqual([]);

    // Space back: the same layer unpacks.
    await store.content.delete(layer.diffId);
    const smaller = await writeLayer(store.content, [
      { path: 'small', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from('ok') },
    ]);
    const [dir] = await store.snapshotter.prepare([smaller]);
    expect(await readdir(dir!)).toEqual(['small']);
  });

  it('fails an ingest that does not fit with STORE_FULL and keeps no partial blob', async () => {
    const root = await smallDisk();
    const store = await openStore(root);
    const before = await store.content.list();
    const tooBig = Readable.from(
      (function* () {
        for (let i = 0; i < 25; i++) yield Buffer.alloc(1024 * 1024, i);
      })(),
    );
    await expect(store.content.putStream(tooBig)).rejects.toMatchObject({
      code: 'STORE_FULL',
      message: expect.stringContaining('while writing a blob to'),
    });
    expect(await readdir(storeLayout(root).ingest)).toEqual([]);
    expect(await store.content.list()).toEqual(before);
    expect((await store.content.putBytes('fits')).size).toBe(4);
  });
});
