/**
 * Garbage collection for `prune`: removes blobs no tag reaches (manifest → config → layers), the
 * snapshots of chains no tagged image uses, and leftovers in `ingest/` and `tmp/`.
 *
 * A build in progress writes layers before anything references them (the cache record comes
 * after the blob), so anything younger than `graceMs` is kept; callers pass the layers their cache
 * still points at in `keep`. Snapshots have no leases: a running build may have an old snapshot
 * mounted as a lowerdir, so `prune` should not run while builds do.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound } from './content-store.js';
import { chainIds } from './snapshotter.js';
import { loadManifest, type ImageStore } from './images.js';
import { storeLayout } from './layout.js';
import type { Digest } from './oci.js';

/** Options for {@link collectGarbage}. */
export interface GcOptions {
  /** Extra blobs to keep (e.g. layers the build cache references). */
  keep?: Digest[];
  /** Keep anything modified more recently than this (default one hour). */
  graceMs?: number;
  /** Report what would go without deleting it. */
  dryRun?: boolean;
}

/** What {@link collectGarbage} removed (or would remove, in a dry run). */
export interface GcResult {
  blobsRemoved: Digest[];
  bytesFreed: number;
  snapshotsRemoved: number;
}

/** Deletes unreachable blobs and snapshots; see the module comment for what is kept. */
export async function collectGarbage(store: ImageStore, options: GcOptions = {}): Promise<GcResult> {
  const cutoff = Date.now() - (options.graceMs ?? 3_600_000);
  const { blobs, chains } = await reachable(store, options.keep ?? []);
  const result: GcResult = { blobsRemoved: [], bytesFreed: 0, snapshotsRemoved: 0 };
  for (const digest of await store.content.list()) {
    if (blobs.has(digest)) continue;
    const info = await statOrUndefined(store.content.blobPath(digest));
    if (info === undefined || info.mtimeMs > cutoff) continue;
    if (!options.dryRun) await store.content.delete(digest);
    result.blobsRemoved.push(digest);
    result.bytesFreed += info.size;
  }
  const layout = storeLayout(store.content.root);
  result.snapshotsRemoved = await removeOld(layout.snapshots, cutoff, options.dryRun, (name) => !chains.has(`sha256:${name}`));
  await removeOld(layout.ingest, cutoff, options.dryRun, () => true);
  await removeOld(layout.tmp, cutoff, options.dryRun, () => true);
  return result;
}

/** Blobs and snapshot chain IDs reachable from the tags (plus `keep`). */
async function reachable(store: ImageStore, keep: Digest[]): Promise<{ blobs: Set<string>; chains: Set<string> }> {
  const blobs = new Set<string>(keep);
  const chains = new Set<string>();
  for (const { manifest } of await store.tags.list()) {
    blobs.add(manifest.digest);
    const image = await loadManifest(store, manifest.digest).catch(() => undefined);
    if (image === undefined) continue; // a broken tag keeps what it names, nothing more
    blobs.add(image.configDigest);
    for (const layer of image.layers) blobs.add(layer.diffId);
    for (const chainId of chainIds(image.layers.map((layer) => layer.diffId))) chains.add(chainId);
  }
  return { blobs, chains };
}

async function removeOld(dir: string, cutoff: number, dryRun: boolean | undefined, eligible: (name: string) => boolean): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!eligible(name)) continue;
    const info = await statOrUndefined(path.join(dir, name));
    if (info === undefined || info.mtimeMs > cutoff) continue;
    if (!dryRun) await rm(path.join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

async function statOrUndefined(file: string) {
  try {
    return await stat(file);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
