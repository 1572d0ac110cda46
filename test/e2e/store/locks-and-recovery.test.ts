/**
 * The pieces under the stress and crash tests, with real processes: locks die with their holder,
 * the step lock makes a second process wait and hit, recovery removes only dead owners' work
 * (unmounting their overlays first), leases keep what a live process uses from the GC.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DiskCacheStore } from '../../../cache/cache-store.js';
import { acquireLock, isOwnerAlive, ownerId } from '../../../sys/file-lock.js';
import { collectGarbage } from '../../../store/gc.js';
import { storeLayout } from '../../../store/layout.js';
import { readLiveLeases } from '../../../store/lease.js';
import { mountsUnder } from '../../../sys/mounts.js';
import { recoverStore } from '../../../store/recover.js';
import { openStore } from '../../../cli/compose.js';
import { loadedStore, tempDir, writeContext } from '../../helpers/build-fixture.js';
import { tempStore } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { installedRuntime } from '../runners/runtime-install.js';
import type { OciRuntimeKind } from '../../../runners/oci/runtime-binary.js';

const lockModule = path.join(repoRoot, 'dist/sys/file-lock.js');

/** A node child that takes the lock on `file`, prints "held" and sleeps. */
function holder(file: string) {
  const script = [
    `const { acquireLock } = await import(${JSON.stringify(lockModule)});`,
    `await acquireLock(${JSON.stringify(file)});`,
    "console.log('held'); setInterval(() => {}, 1000);",
  ].join(' ');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const held = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { child, held };
}

/** A fake owner id for a process that is gone: a pid that exists with another start time. */
const deadOwner = `${process.pid}.1`;

describe('locks', () => {
  it('are released by the kernel when the holder is killed with SIGKILL', async () => {
    const file = path.join(await tempDir('locks'), 'l');
    const { child, held } = holder(file);
    await held;
    expect(await acquireLock(file, { noWait: true })).toBeUndefined();
    const waiting = acquireLock(file);
    child.kill('SIGKILL');
    const lock = await waiting;
    expect(lock).toBeDefined();
    await lock!.release();
  });

  it('make a second process reaching the same step wait, then hit the record the first wrote', async () => {
    const root = await tempStore();
    const key = 'ab'.repeat(32);
    const first = new DiskCacheStore(root);
    const second = new DiskCacheStore(root);
    const order: string[] = [];
    const run = (cache: DiskCacheStore, name: string) =>
      cache.lock(key, async () => {
        if ((await cache.get(key)) !== undefined) return order.push(`${name} hit`);
        order.push(`${name} runs`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await cache.put(key, { durationMs: 200, created: new Date(0).toISOString() });
        return order.push(`${name} done`);
      });
    await Promise.all([
      run(first, 'a'),
      new Promise((resolve) => setTimeout(resolve, 20)).then(() => run(second, 'b')),
    ]);
    expect(order).toEqual(['a runs', 'a done', 'b hit']);
  });

  it('tell live owners from dead ones, pid reuse included', () => {
    expect(isOwnerAlive(ownerId())).toBe(true);
    expect(isOwnerAlive(deadOwner)).toBe(false);
    expect(isOwnerAlive('999999999.5')).toBe(false);
  });
});

describe('recoverStore', () => {
  it("unmounts and removes a dead owner's scratch, partial ingests and lease; keeps a live owner's", async () => {
    const root = await tempStore();
    const store = await openStore(root, { recover: false });
    const layout = storeLayout(root);
    const dead = path.join(layout.tmp, deadOwner);
    const view = path.join(dead, 'view-1');
    await mkdir(view, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', 'tmpfs', view]);
    await writeFile(path.join(view, 'inside'), 'x');
    await writeFile(path.join(layout.ingest, `${deadOwner}-abc`), 'partial');
    await writeFile(path.join(layout.ingest, `${ownerId()}-live`), 'in flight');
    await writeFile(path.join(layout.leases, deadOwner), 'blob sha256:00\n');
    await writeFile(path.join(store.tmpDir, 'mine'), 'live work');
    expect(await mountsUnder(root)).toEqual([view]);

    const report = await recoverStore(root);
    expect(report).toMatchObject({ scratchDirs: 1, unmounted: 1, partialIngests: 1, deadLeases: 1 });
    expect(await mountsUnder(root)).toEqual([]);
    expect((await readdir(layout.tmp)).sort()).toEqual([ownerId()]);
    expect(await readdir(store.tmpDir)).toEqual(['mine']);
    expect(await readdir(layout.ingest)).toEqual([`${ownerId()}-live`]);
    expect((await readLiveLeases(root)).owners).toEqual([ownerId()]);
  });

  it('removes a snapshot dir that never got its completion marker once its dead unpacker turns up', async () => {
    const root = await tempStore();
    await openStore(root, { recover: false });
    const layout = storeLayout(root);
    const half = path.join(layout.snapshots, 'cd'.repeat(32));
    await mkdir(path.join(half, 'usr'), { recursive: true });
    // No dead owner: nothing can have been interrupted, and snapshots/ is not listed.
    expect((await recoverStore(root)).incompleteSnapshots).toBe(0);
    await writeFile(path.join(layout.leases, deadOwner), `snapshot ${'cd'.repeat(32)}\n`);
    expect((await recoverStore(root)).incompleteSnapshots).toBe(1);
    expect(await readdir(layout.snapshots)).toEqual([]);
  });
});

// Each runtime keeps its own record of the container: runc a state.json, crun a status file.
describe.each([
  ['runc', 'state.json'],
  ['crun', 'status'],
])('a build killed with SIGKILL during a %s step', (runtime, stateFile) => {
  it('leaves a running container that the next command stops, cgroups included', async () => {
    await installedRuntime(runtime as OciRuntimeKind);
    const store = await loadedStore();
    const marker = `tzb-orphan-${process.pid}-${Date.now()}`;
    const context = await writeContext({ Dockerfile: `FROM busybox\nRUN sh -c 'sleep 100; echo ${marker}'\n` });
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'bin/tzbuild'),
        'build',
        '--root',
        store,
        '--runner',
        runtime,
        '--progress',
        'plain',
        context,
      ],
      { stdio: 'ignore' },
    );
    // The step runs once the runtime has written its state and the sleep is alive.
    const stateFiles = async () =>
      (
        await execa('find', [path.join(store, 'tmp'), '-path', '*/state/*', '-name', stateFile], { reject: false })
      ).stdout
        .split('\n')
        .filter(Boolean);
    const sleeping = async () =>
      (await execa('pgrep', ['-f', `sleep 100; echo ${marker}`], { reject: false })).stdout.trim() !== '';
    for (let waited = 0; !((await stateFiles()).length > 0 && (await sleeping())); waited += 100) {
      if (waited > 60_000) throw new Error('the step never started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const id = path.basename(path.dirname((await stateFiles())[0]!));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await sleeping()).toBe(true); // what this test is about: the container outlived tzbuild
    expect(
      (await execa(process.execPath, [path.join(repoRoot, 'bin/tzbuild'), 'images', '--root', store])).exitCode,
    ).toBe(0);
    expect(await sleeping()).toBe(false);
    const cgroups = (
      await execa('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-name', id], { reject: false })
    ).stdout.trim();
    expect(cgroups).toBe('');
    expect(await mountsUnder(store)).toEqual([]);
  });
});

describe('leases', () => {
  it('keep what a live process uses from the GC; once it dies, the GC takes it', async () => {
    const root = await tempStore();
    const store = await openStore(root, { recover: false });
    const blob = await store.content.putBytes('used by another build');
    const layout = storeLayout(root);
    // Another live process (a sleeping child) leases the blob.
    const other = spawn('sleep', ['30']);
    const stat = (await import('node:fs')).readFileSync(`/proc/${other.pid}/stat`, 'latin1');
    const otherOwner = `${other.pid}.${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
    await writeFile(path.join(layout.leases, otherOwner), `blob ${blob.digest}\n`);
    try {
      expect((await collectGarbage(store, { graceMs: 0 })).blobsRemoved).toEqual([]);
      expect(await store.content.has(blob.digest)).toBe(true);
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
    }
    expect((await collectGarbage(store, { graceMs: 0 })).blobsRemoved).toEqual([blob.digest]);
  });
});
