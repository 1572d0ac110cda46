/**
 * Recovery at store open: undoes what a killed tzbuild left behind, cheaply (a few readdirs and
 * one read of /proc/self/mountinfo) and without touching any live process's work.
 *
 * - `tmp/<owner>/` of a dead owner: OCI containers it left running are killed and their cgroups
 *   removed (the `stopContainers` hook: runners/oci/recover-containers.ts, wired in by
 *   cli/compose.ts), its overlay mounts are unmounted, then the dir is deleted.
 * - `ingest/<owner>-…` partial blobs and `leases/<owner>` of dead owners are deleted.
 * - Entries not named after an owner (made by code that uses the shared `tmp/`) are deleted only
 *   when no other live process has the store open, or when older than `graceMs`.
 * - Snapshot dirs without a completion marker (killed between rename and marker) are moved aside
 *   and deleted, under their unpack lock so a live unpack is never disturbed. Only looked for when
 *   a dead owner turned up (it would have leased the snapshot): the listing grows with the store.
 * - Temp files of atomic writes (`index.json.*.tmp`, marker temps) of dead owners are deleted.
 * - Container records of a `tzbuild run` that died are marked exited (store/containers.ts).
 *
 * Blobs need no recovery: they appear only by rename after verification. Cache records are
 * written after their layer, and a record whose layer is missing is a miss (fsck reports it).
 */
import { readdirSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { removeTree } from '../sys/remove-tree.js';
import path from 'node:path';
import { recoverContainers } from './containers.js';
import { storeLayout, type StoreLayout } from './layout.js';
import { otherLiveOwners, readLiveLeases } from './lease.js';
import { mountsUnder, unmountAllUnder } from '../sys/mounts.js';
import { acquireLock, isOwnerAlive, ownerOf } from '../sys/file-lock.js';

/** What {@link recoverStore} cleaned up. */
export interface RecoveryReport {
  scratchDirs: number;
  unmounted: number;
  partialIngests: number;
  deadLeases: number;
  incompleteSnapshots: number;
  tempFiles: number;
  /** Steps of dead owners' OCI containers that were still running, now killed. */
  containersStopped: number;
  /** Container records of runs whose process died, now marked exited. */
  containersExited: number;
}

/** Options for {@link recoverStore}. */
export interface RecoverOptions {
  /** Entries not named after an owner are removed once this old (default one hour). */
  graceMs?: number;
  /**
   * Stops the containers a dead owner started whose state lies under `dir` (its scratch dir) and
   * returns how many: the runners know their runtimes' records, the store does not.
   */
  stopContainers?: (dir: string) => Promise<number>;
}

/** Tidies the store at `root` after crashed processes; safe to run while other builds are live. */
export async function recoverStore(root: string, options: RecoverOptions = {}): Promise<RecoveryReport> {
  const layout = storeLayout(root);
  const report: RecoveryReport = {
    scratchDirs: 0,
    unmounted: 0,
    partialIngests: 0,
    deadLeases: 0,
    incompleteSnapshots: 0,
    tempFiles: 0,
    containersStopped: 0,
    containersExited: 0,
  };
  const mountedBefore = (await mountsUnder(layout.tmp)).length;
  const othersAlive = await otherLiveOwners(layout.root);
  const cutoff = Date.now() - (options.graceMs ?? 3_600_000);
  const orphaned = async (dir: string, name: string): Promise<boolean> => {
    const owner = ownerOf(name);
    if (owner !== undefined) return !isOwnerAlive(owner);
    return !othersAlive || (await olderThan(path.join(dir, name), cutoff));
  };

  for (const name of await list(layout.tmp)) {
    // Step logs are kept for the user to read after the build.
    if (name === 'logs' || !(await orphaned(layout.tmp, name))) continue;
    const dir = path.join(layout.tmp, name);
    // A container the dead owner started may still run (its cgroups and processes outlive it).
    if (ownerOf(name) !== undefined) report.containersStopped += (await options.stopContainers?.(dir)) ?? 0;
    // Never recurse into something still mounted: rm would delete through the mount.
    if (!(await unmountAllUnder(dir))) continue;
    await removeTree(dir);
    report.scratchDirs++;
  }
  report.unmounted = mountedBefore - (await mountsUnder(layout.tmp)).length;
  for (const name of await list(layout.ingest)) {
    if (!(await orphaned(layout.ingest, name))) continue;
    await rm(path.join(layout.ingest, name), { force: true });
    report.partialIngests++;
  }
  const leasesBefore = (await list(layout.leases)).length;
  const live = await readLiveLeases(layout.root, { removeDead: true });
  report.deadLeases = Math.max(0, leasesBefore - live.owners.length);
  // Marker temps and incomplete snapshots come only from a process killed mid-unpack, and such a
  // process had leased the snapshot first (lease.ts): with no dead owner found, the listings of
  // snapshots/ and meta/snapshots/, which grow with the store, are skipped (fsck checks them all).
  report.tempFiles = await removeDeadTemps(layout.root, /^index\.json\.(.+)\.tmp$/, orphaned);
  if (report.scratchDirs + report.partialIngests + report.deadLeases > 0) {
    report.tempFiles += await removeDeadTemps(layout.snapshotMarks, /^[a-f0-9]{64}\.(.+)\.tmp$/, orphaned);
    report.incompleteSnapshots = await discardIncompleteSnapshots(layout);
    // A killed `tzbuild run` left its record saying running (its scratch dir was among the above).
    report.containersExited = await recoverContainers(layout.root);
  }
  return report;
}

/** Temp files of dead owners' atomic writes in `dir`: `pattern` captures the owner part of a name. */
async function removeDeadTemps(
  dir: string,
  pattern: RegExp,
  orphaned: (dir: string, name: string) => Promise<boolean>,
): Promise<number> {
  let removed = 0;
  for (const name of await list(dir)) {
    const owner = pattern.exec(name)?.[1];
    if (owner === undefined || !(await orphaned(dir, owner))) continue;
    await rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

/** Snapshot dirs without a marker, whose unpack lock is free: leftovers of a crash. */
async function discardIncompleteSnapshots(layout: StoreLayout): Promise<number> {
  const marks = new Set(await list(layout.snapshotMarks));
  let removed = 0;
  for (const hex of await list(layout.snapshots)) {
    // Only what the snapshotter makes; anything else is for fsck to report.
    if (marks.has(hex) || !/^[a-f0-9]{64}$/.test(hex)) continue;
    const lock = await acquireLock(path.join(layout.locks, `snapshot-${hex}`), { noWait: true });
    if (lock === undefined) continue; // a live process is unpacking it right now
    try {
      if (!(await list(layout.snapshotMarks)).includes(hex)) {
        await removeTree(path.join(layout.snapshots, hex));
        removed++;
      }
    } finally {
      await lock.release();
    }
  }
  return removed;
}

/** Directory names; synchronous, as recovery lists several (mostly empty) dirs at every store open. */
async function list(dir: string): Promise<string[]> {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function olderThan(file: string, cutoff: number): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && info.mtimeMs < cutoff;
}
