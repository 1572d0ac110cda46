/**
 * Garbage collection for `prune`, `builder prune` and the automatic GC: removes blobs no tag
 * reaches (manifest → config → layers), no container uses and no caller keeps (`keep`: the layers of the cache records
 * that stay), the snapshots of chains no tagged image uses, and nothing a live process uses.
 *
 * Live processes are protected by their leases (lease.ts). The sweep is careful about the race
 * with a build that starts using something mid-sweep: it lists candidates first, reads the leases,
 * moves each candidate aside (into its own `tmp/<owner>-gc-…`), reads the leases again and restores
 * whatever became leased in between; only then deletes. A build that looks in the short window
 * sees the thing missing and rebuilds it (a cache miss), which is safe. Two GCs never run at once
 * (`locks/gc`). Snapshots are moved under their unpack lock, so a half-removed one is never seen.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { removeTree } from '../sys/remove-tree.js';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isNotFound } from './content-store.js';
import { acquireLock, ownerId, withLock } from '../sys/file-lock.js';
import { loadManifest, manifestsOf, type ImageStore } from './images.js';
import { storeLayout, type StoreLayout } from './layout.js';
import { readLiveLeases, type LiveLeases } from './lease.js';
import type { Digest } from '../core/oci.js';
import { chainIds } from './snapshotter.js';
import { ContainerStore } from './containers.js';

/** Options for {@link collectGarbage}. */
export interface GcOptions {
  /** Extra blobs to keep (e.g. layers the build cache references). */
  keep?: Digest[];
  /** Keep anything modified more recently than this (default one hour; the CLI passes 0). */
  graceMs?: number;
  /** Report what would go without deleting it. */
  dryRun?: boolean;
  /** Skip (resolve to undefined) instead of waiting when another GC runs. */
  noWait?: boolean;
}

/** What {@link collectGarbage} removed (or would remove, in a dry run). */
export interface GcResult {
  blobsRemoved: Digest[];
  bytesFreed: number;
  snapshotsRemoved: number;
}

/** Deletes unreachable blobs and snapshots; see the module comment for what is kept. */
export async function collectGarbage(
  store: ImageStore,
  options: GcOptions & { noWait: true },
): Promise<GcResult | undefined>;
export async function collectGarbage(store: ImageStore, options?: GcOptions): Promise<GcResult>;
export async function collectGarbage(store: ImageStore, options: GcOptions = {}): Promise<GcResult | undefined> {
  const layout = storeLayout(store.content.root);
  const lockFile = path.join(layout.locks, 'gc');
  if (!options.noWait) return withLock(lockFile, () => sweep(store, layout, options));
  const lock = await acquireLock(lockFile, { noWait: true });
  if (lock === undefined) return undefined;
  try {
    return await sweep(store, layout, options);
  } finally {
    await lock.release();
  }
}

async function sweep(store: ImageStore, layout: StoreLayout, options: GcOptions): Promise<GcResult> {
  const cutoff = Date.now() - (options.graceMs ?? 3_600_000);
  const { blobs, chains } = await reachable(store, options.keep ?? []);
  // Candidates are listed before the leases are read: anything renamed into place after the
  // listing was leased before it (content-store.ts), anything before it is in the list.
  const blobCandidates = (await store.content.list()).filter((digest) => !blobs.has(digest));
  const snapshotCandidates = (await readdir(layout.snapshots).catch(() => [] as string[])).filter(
    (hex) => !chains.has(`sha256:${hex}`),
  );
  const leases = await othersLeases(layout);
  const result: GcResult = { blobsRemoved: [], bytesFreed: 0, snapshotsRemoved: 0 };
  const aside = path.join(layout.tmp, `${ownerId()}-gc-${randomBytes(6).toString('hex')}`);
  await mkdir(aside, { recursive: true, mode: 0o700 });
  try {
    const moved: { digest: Digest; size: number }[] = [];
    for (const digest of blobCandidates) {
      if (leases.blobs.has(digest)) continue;
      const info = await statOrUndefined(store.content.blobPath(digest));
      if (info === undefined || info.mtimeMs > cutoff) continue;
      if (options.dryRun || (await moveIfPresent(store.content.blobPath(digest), path.join(aside, digest.slice(7)))))
        moved.push({ digest, size: info.size });
    }
    const again = await othersLeases(layout);
    for (const { digest, size } of moved) {
      if (again.blobs.has(digest) && !options.dryRun) {
        await restore(path.join(aside, digest.slice(7)), store.content.blobPath(digest));
        continue;
      }
      result.blobsRemoved.push(digest);
      result.bytesFreed += size;
    }
    for (const hex of snapshotCandidates) {
      if (leases.snapshots.has(hex)) continue;
      if (await removeSnapshot(layout, hex, cutoff, aside, options.dryRun === true)) result.snapshotsRemoved++;
    }
  } finally {
    await removeTree(aside);
  }
  return result;
}

/** Leases of every live process but this one (a GC must not protect things from itself). */
function othersLeases(layout: StoreLayout): Promise<LiveLeases> {
  return readLiveLeases(layout.root, { excludeSelf: true });
}

/** Removes one snapshot (and its marker) under its unpack lock, unless it became leased. */
async function removeSnapshot(
  layout: StoreLayout,
  hex: string,
  cutoff: number,
  aside: string,
  dryRun: boolean,
): Promise<boolean> {
  const dir = path.join(layout.snapshots, hex);
  const info = await statOrUndefined(dir);
  if (info === undefined || info.mtimeMs > cutoff) return false;
  if (dryRun) return true;
  const lock = await acquireLock(path.join(layout.locks, `snapshot-${hex}`), { noWait: true });
  if (lock === undefined) return false; // being unpacked right now
  try {
    const moved = path.join(aside, `snapshot-${hex}`);
    if (!(await moveIfPresent(dir, moved))) return false;
    if ((await othersLeases(layout)).snapshots.has(hex)) {
      await restore(moved, dir);
      return false;
    }
    await rm(path.join(layout.snapshotMarks, hex), { force: true });
    await removeTree(moved);
    return true;
  } finally {
    await lock.release();
  }
}

/** Blobs and snapshot chain IDs reachable from the tags and the containers (plus `keep`). */
async function reachable(store: ImageStore, keep: Digest[]): Promise<{ blobs: Set<string>; chains: Set<string> }> {
  const blobs = new Set<string>(keep);
  const chains = new Set<string>();
  // Containers keep their images (and so the snapshots under their writable layers) alive.
  const inUse = [...(await new ContainerStore(store.content.root).imagesInUse()).keys()];
  for (const root of [...(await store.tags.list()).map(({ manifest }) => manifest.digest), ...inUse]) {
    blobs.add(root);
    // A multi-platform image: the index, then every platform's manifest.
    const manifests = await manifestsOf(store, root).catch(() => []);
    for (const { digest } of manifests) {
      blobs.add(digest);
      const image = await loadManifest(store, digest).catch(() => undefined);
      if (image === undefined) continue; // a broken tag keeps what it names, nothing more
      blobs.add(image.configDigest);
      for (const layer of image.layers) blobs.add(layer.diffId);
      for (const chainId of chainIds(image.layers.map((layer) => layer.diffId))) chains.add(chainId);
    }
  }
  return { blobs, chains };
}

async function moveIfPresent(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Puts a moved thing back; if a new copy appeared meanwhile (same digest, same bytes) ours goes. */
async function restore(moved: string, original: string): Promise<void> {
  try {
    await rename(moved, original);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
}

async function statOrUndefined(file: string) {
  try {
    return await stat(file);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
