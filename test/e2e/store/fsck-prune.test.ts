/**
 * `system fsck [--repair]`, `prune` and `builder prune` through the CLI on a real store: damage
 * of every kind is reported, repaired, and a repaired store builds again; prune keeps what tagged
 * images need; builder prune drops least recently used cache first and honours its filters.
 */
import { appendFile, mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCacheRecords } from '../../../cache/cache-store.js';
import { checkStore } from '../../../store/fsck.js';
import { storeLayout } from '../../../store/layout.js';
import { openStore } from '../../../cli/compose.js';
import { tempStore } from '../../helpers/cli.js';
import { planCachePrune, parseSize } from '../../../cli/commands/store.js';
import {
  buildDockerfile,
  buildOk,
  cli,
  inspect,
  loadedStore,
  manifestOf,
  blobPath,
  readIn,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';
import { storeCommand } from './fixture.js';

describe('system fsck', () => {
  it('reports corrupt blobs, broken tags, dangling records and half snapshots; --repair fixes them', async () => {
    const store = await loadedStore();
    const context = await buildDockerfile(
      store,
      'app:1',
      'FROM busybox:latest\nRUN echo one > /one\nRUN echo two > /two\n',
    );
    expect((await storeCommand(store, ['system', 'fsck'])).stdout).toContain('fsck: 0 problems found');

    const manifest = await manifestOf(store, 'app:1');
    const lastLayer = manifest.layers[manifest.layers.length - 1]!.digest;
    await appendFile(blobPath(store, lastLayer), 'flipped'); // corrupt blob → broken tag, dangling record
    // A marker-less snapshot and no dead owner (recovery at store open then leaves snapshots/
    // alone) and a stray entry: fsck's to report and repair.
    const half = path.join(storeLayout(store).snapshots, 'ee'.repeat(32));
    await mkdir(path.join(half, 'etc'), { recursive: true });
    await mkdir(path.join(storeLayout(store).snapshots, 'not-a-snapshot'));

    const found = await storeCommand(store, ['system', 'fsck']);
    expect(found.exitCode).toBe(1);
    expect(found.stdout).toContain(`corrupt-blob ${lastLayer}`);
    expect(found.stdout).toContain('broken-tag app:1');
    expect(found.stdout).toContain('dangling-record');
    expect(found.stdout).toContain(`incomplete-snapshot ${'ee'.repeat(32)}`);
    expect(found.stdout).toContain('stray-entry snapshots/not-a-snapshot');
    expect(found.stderr).toMatch(/error: the store has \d+ problems \(run tzbuild system fsck --repair\)/);

    const repaired = await storeCommand(store, ['system', 'fsck', '--repair']);
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/problems found, (\d+) repaired/);
    expect((await storeCommand(store, ['system', 'fsck'])).stdout).toContain('fsck: 0 problems found');
    expect(await readdir(storeLayout(store).snapshots)).not.toContain('not-a-snapshot');
    expect(await readdir(storeLayout(store).snapshots)).not.toContain('ee'.repeat(32));

    // The store works again: the lost step runs again and the image is whole.
    await buildOk(store, ['-t', 'app:1', context]);
    const rootfs = await unpack(store, 'app:1');
    expect(await readIn(rootfs, '/two')).toBe('two\n');
    expect((await storeCommand(store, ['system', 'fsck'])).stdout).toContain('fsck: 0 problems found');
  });
});

describe('checkStore', () => {
  it('reports a snapshot without its completion marker, and removes it with repair', async () => {
    const root = await tempStore();
    const store = await openStore(root, { recover: false });
    const half = path.join(storeLayout(root).snapshots, 'ab'.repeat(32));
    await mkdir(path.join(half, 'usr'), { recursive: true });
    expect(await checkStore(store)).toEqual([
      expect.objectContaining({ kind: 'incomplete-snapshot', subject: 'ab'.repeat(32) }),
    ]);
    expect(await checkStore(store, { repair: true })).toEqual([
      expect.objectContaining({ kind: 'incomplete-snapshot', repaired: true }),
    ]);
    expect(await checkStore(store)).toEqual([]);
  });
});

describe('prune', () => {
  it('removes what no tag or cache record needs and keeps tagged images whole', async () => {
    const store = await loadedStore();
    await buildDockerfile(store, 'keep:1', 'FROM busybox:latest\nRUN echo keep > /keep\n');
    // The second RUN unpacks the first one's layer: a snapshot only drop:1 used.
    await buildDockerfile(store, 'drop:1', 'FROM busybox:latest\nRUN echo drop > /drop\nRUN true\n');
    const drop = await manifestOf(store, 'drop:1');
    const dropConfig = (await inspect(store, 'drop:1')).Id;
    await cli(store, ['rmi', 'drop:1']);
    // drop's layer is still in the cache, so prune keeps it; its config, manifest and snapshot go …
    const first = await storeCommand(store, ['prune']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Deleted 0 cache records, \d+ blobs, 1 snapshot/);
    await expect(stat(blobPath(store, dropConfig))).rejects.toThrow(/ENOENT/);
    const dropLayer = drop.layers[drop.layers.length - 1]!.digest;
    expect((await stat(blobPath(store, dropLayer))).isFile()).toBe(true);
    // … until builder prune drops the cache record that held it.
    const pruned = await storeCommand(store, ['builder', 'prune']);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/Deleted 1 cache record, 1 blob, 0 snapshots/);
    await expect(stat(blobPath(store, dropLayer))).rejects.toThrow(/ENOENT/);
    expect(await cli(store, ['images'])).toContain('keep');
    expect((await storeCommand(store, ['system', 'fsck'])).stdout).toContain('fsck: 0 problems found');
    const rebuilt = await buildOk(store, [
      '-t',
      'keep:1',
      await writeContext({ Dockerfile: 'FROM busybox:latest\nRUN echo keep > /keep\n' }),
    ]);
    expect(rebuilt.stderr).toContain('CACHED');
  });
});

describe('builder prune', () => {
  it('drops least recently used records first down to --keep-storage, and honours until=', async () => {
    const store = await loadedStore();
    for (const n of [1, 2, 3]) {
      await buildDockerfile(
        store,
        `c:${n}`,
        `FROM busybox:latest\nRUN dd if=/dev/zero of=/f bs=1k count=${100 * n} 2>/dev/null\n`,
      );
      await cli(store, ['rmi', `c:${n}`]);
    }
    const records = (await listCacheRecords(store)).filter(
      (stored) => stored.record?.layer !== undefined && stored.record.layer.size > 50_000,
    );
    expect(records).toHaveLength(3);
    // Make the 300k record the oldest, then the 100k one.
    const bySize = [...records].sort((a, b) => b.record!.layer!.size - a.record!.layer!.size);
    const now = Date.now() / 1000;
    await utimes(bySize[0]!.file, now - 3 * 86400, now - 3 * 86400);
    await utimes(bySize[2]!.file, now - 2 * 86400, now - 2 * 86400);

    const tooRecent = await storeCommand(store, ['builder', 'prune', '--filter', 'until=100h']);
    expect(tooRecent.stdout).toMatch(/Deleted 0 cache records/);
    const keep = await storeCommand(store, ['builder', 'prune', '--keep-storage', '250KB']);
    expect(keep.exitCode, keep.stderr).toBe(0);
    const left = (await listCacheRecords(store)).map((stored) => stored.key);
    // The oldest (300k) had to go; 100k + 200k = 300k is still over 250k, so the next oldest (100k) went too.
    expect(left).not.toContain(bySize[0]!.key);
    expect(left).not.toContain(bySize[2]!.key);
    expect(left).toContain(bySize[1]!.key);
  });

  it('plans: never a leased record, --all also drops records that free nothing', () => {
    const layer = (id: string, size: number) => ({ diffId: `sha256:${id.repeat(64)}` as const, size });
    const records = [
      { key: 'a', file: 'a', lastUsedMs: 1, record: { layer: layer('a', 100), durationMs: 1, created: '' } },
      { key: 'b', file: 'b', lastUsedMs: 2, record: { layer: layer('b', 100), durationMs: 1, created: '' } },
      { key: 'c', file: 'c', lastUsedMs: 3, record: { durationMs: 1, created: '' } },
    ];
    expect([...planCachePrune(records, new Set(), new Set(['a']), {}, 10)]).toEqual(['b']);
    expect([...planCachePrune(records, new Set([layer('b', 0).diffId]), new Set(), { all: true }, 10)].sort()).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect([...planCachePrune(records, new Set(), new Set(), { keepStorage: 100 }, 10)]).toEqual(['a']);
    expect(parseSize('10GB')).toBe(10e9);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(() => parseSize('ten')).toThrow(/invalid size/);
  });
});

describe('automatic GC', () => {
  it('keeps the cache under TZBUILD_GC_KEEP after a build', async () => {
    const store = await loadedStore();
    await buildDockerfile(store, 'g:1', 'FROM busybox:latest\nRUN dd if=/dev/zero of=/f bs=1k count=300 2>/dev/null\n');
    await cli(store, ['rmi', 'g:1']);
    const { gcAfterBuild } = await import('../../../cli/commands/store.js');
    expect(await gcAfterBuild(store, {})).toBeUndefined(); // no limit configured: nothing to do
    await writeFile(path.join(store, 'config.json'), JSON.stringify({ gc: { keepStorage: '100KB' } }));
    const result = await gcAfterBuild(store, {});
    expect(result?.blobsRemoved.length).toBeGreaterThan(0);
    expect((await listCacheRecords(store)).every((stored) => (stored.record?.layer?.size ?? 0) < 100_000)).toBe(true);
    await rm(path.join(store, 'config.json'));
  });

  it('runs after every successful build of the CLI', async () => {
    const store = await loadedStore();
    await buildDockerfile(
      store,
      'big:1',
      'FROM busybox:latest\nRUN dd if=/dev/zero of=/big bs=1k count=300 2>/dev/null\n',
    );
    await cli(store, ['rmi', 'big:1']);
    const bigRecord = (stored: { record?: { layer?: { size: number } } }) =>
      (stored.record?.layer?.size ?? 0) >= 300_000;
    expect((await listCacheRecords(store)).some(bigRecord)).toBe(true);
    await writeFile(path.join(store, 'config.json'), JSON.stringify({ gc: { keepStorage: '100KB' } }));
    await buildDockerfile(store, 'small:1', 'FROM busybox:latest\nRUN echo small > /small\n');
    expect((await listCacheRecords(store)).some(bigRecord)).toBe(false);
    expect(await cli(store, ['system', 'fsck'])).toContain('fsck: 0 problems found');
    await rm(path.join(store, 'config.json'));
  });
});
