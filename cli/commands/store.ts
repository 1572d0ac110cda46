/**
 * Store maintenance: `system fsck [--repair]`, `prune`, `builder prune`, and the automatic GC
 * run after each build (`gcAfterBuild`). What is kept and why is in docs/reliability.md.
 */
import { StoreError, UserError } from '../../core/errors.js';
import { parseGoDuration } from '../../builder/parse/duration.js';
import {
  checkCacheRecords,
  listCacheRecords,
  removeCacheRecord,
  removeRecordTemps,
  type StoredRecord,
} from '../../cache/cache-store.js';
import type { StoreProblem } from '../../store/fsck.js';
import { collectGarbage, type GcResult } from '../../store/gc.js';
import { loadManifest, manifestsOf, type ImageStore } from '../../store/images.js';
import { readLiveLeases } from '../../store/lease.js';
import type { OpenedStore } from '../../store/store.js';
import { openStore, storeRoot } from '../compose.js';
import { formatBytes } from '../format.js';
import { configuredKeep, parseSize } from '../gc-config.js';

export { parseSize } from '../gc-config.js';

export interface RootFlags {
  root?: string;
}

export async function fsckCommand(flags: RootFlags & { repair?: boolean }): Promise<void> {
  const store = await openStore(storeRoot(flags.root));
  const repair = flags.repair === true;
  // fsck's checker is imported here, not at the top: `tzbuild build` imports this module for its GC.
  const { checkStore } = await import('../../store/fsck.js');
  const storeProblems = await checkStore(store, { repair });
  const corrupt = new Set(
    storeProblems.filter((problem) => problem.kind === 'corrupt-blob').map((problem) => problem.subject),
  );
  const problems: StoreProblem[] = [
    ...storeProblems,
    ...(await checkCacheRecords(store.root, store.content, repair, corrupt)),
  ];
  for (const problem of problems) {
    process.stdout.write(
      `${problem.kind} ${problem.subject}: ${problem.detail}${problem.repaired ? ' (removed)' : ''}\n`,
    );
  }
  const left = problems.filter((problem) => !problem.repaired).length;
  process.stdout.write(
    `fsck: ${problems.length} problem${problems.length === 1 ? '' : 's'} found, ${problems.length - left} repaired\n`,
  );
  if (left > 0)
    throw new StoreError(
      `the store has ${left} problem${left === 1 ? '' : 's'} (run tzbuild system fsck --repair)`,
      'FSCK_PROBLEMS',
    );
}

export async function pruneCommand(flags: RootFlags): Promise<void> {
  const store = await openStore(storeRoot(flags.root));
  // Records whose layer is gone can never hit again; they are the "unreferenced" cache.
  const dangling = (await checkCacheRecords(store.root, store.content, true)).length;
  await removeRecordTemps(store.root);
  const result = await sweep(store, await listCacheRecords(store.root));
  printResult(result, dangling);
}

/** Options of `builder prune` (and of the automatic GC). */
export interface CachePruneOptions {
  keepStorage?: number;
  /** Only records unused for at least this long (ms). */
  unusedForMs?: number;
  all?: boolean;
}

export async function builderPruneCommand(
  flags: RootFlags & { keepStorage?: string; filter: string[]; all?: boolean },
): Promise<void> {
  const options: CachePruneOptions = {
    ...(flags.keepStorage === undefined ? {} : { keepStorage: parseSize(flags.keepStorage) }),
    ...parseFilters(flags.filter),
    ...(flags.all ? { all: true } : {}),
  };
  const store = await openStore(storeRoot(flags.root));
  const { removed, result } = await pruneCache(store, options);
  printResult(result, removed);
}

/**
 * The automatic GC after a build: when `TZBUILD_GC_KEEP` (or `gc.keepStorage` in the store's
 * `config.json`) sets a size, prunes the cache down to it, least recently used first. Skips
 * silently when another GC is running (the last build to finish will do it).
 */
export async function gcAfterBuild(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  limit?: number,
): Promise<GcResult | undefined> {
  limit ??= await configuredKeep(root, env);
  if (limit === undefined) return undefined;
  const store = await openStore(root, { recover: false });
  return (await pruneCache(store, { keepStorage: limit }, true)).result;
}

/** Removes cache records by the options, then what only they kept. */
async function pruneCache(
  store: OpenedStore,
  options: CachePruneOptions,
  noWait = false,
): Promise<{ removed: number; result: GcResult | undefined }> {
  const records = await listCacheRecords(store.root);
  const tagged = await taggedLayers(store);
  const leased = (await readLiveLeases(store.root, { excludeSelf: true })).records;
  const doomed = planCachePrune(records, tagged, leased, options, Date.now());
  for (const key of doomed) await removeCacheRecord(store.root, key);
  const kept = records.filter((stored) => !doomed.has(stored.key));
  return { removed: doomed.size, result: await sweep(store, kept, noWait) };
}

/**
 * Which records `builder prune` removes: never one a live build leases; only ones unused for
 * `unusedForMs`; without `all`, only ones whose layer no tagged image uses (the others free
 * nothing); with `keepStorage`, least recently used first until the cache's unique layers fit.
 */
export function planCachePrune(
  records: StoredRecord[],
  tagged: Set<string>,
  leased: Set<string>,
  options: CachePruneOptions,
  now: number,
): Set<string> {
  const users = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const { record } of records) {
    const layer = record?.layer;
    if (layer === undefined || tagged.has(layer.diffId)) continue;
    users.set(layer.diffId, (users.get(layer.diffId) ?? 0) + 1);
    sizes.set(layer.diffId, layer.size);
  }
  let storage = [...sizes.values()].reduce((sum, size) => sum + size, 0);
  const doomed = new Set<string>();
  const oldestFirst = [...records].sort((a, b) => a.lastUsedMs - b.lastUsedMs);
  for (const { key, record, lastUsedMs } of oldestFirst) {
    if (options.keepStorage !== undefined && storage <= options.keepStorage) break;
    if (leased.has(key) || (options.unusedForMs !== undefined && now - lastUsedMs < options.unusedForMs)) continue;
    const layer = record?.layer;
    const freesSpace = layer !== undefined && !tagged.has(layer.diffId);
    if (!freesSpace && !options.all) continue;
    doomed.add(key);
    if (!freesSpace) continue;
    const left = (users.get(layer.diffId) ?? 1) - 1;
    users.set(layer.diffId, left);
    if (left === 0) storage -= layer.size;
  }
  return doomed;
}

/** GC with the layers of the remaining records kept. */
function sweep(store: ImageStore, kept: StoredRecord[], noWait = false): Promise<GcResult | undefined> {
  const keep = kept.flatMap((stored) => (stored.record?.layer ? [stored.record.layer.diffId] : []));
  return collectGarbage(store, { keep, graceMs: 0, ...(noWait ? { noWait: true as const } : {}) });
}

async function taggedLayers(store: ImageStore): Promise<Set<string>> {
  const layers = new Set<string>();
  for (const { manifest } of await store.tags.list()) {
    for (const { digest } of await manifestsOf(store, manifest.digest).catch(() => [])) {
      const image = await loadManifest(store, digest).catch(() => undefined);
      for (const layer of image?.layers ?? []) layers.add(layer.diffId);
    }
  }
  return layers;
}

function printResult(result: GcResult | undefined, records: number): void {
  if (result === undefined) {
    process.stdout.write('another prune is running; nothing done\n');
    return;
  }
  const { blobsRemoved, snapshotsRemoved, bytesFreed } = result;
  process.stdout.write(
    `Deleted ${records} cache record${records === 1 ? '' : 's'}, ${blobsRemoved.length} ` +
      `blob${blobsRemoved.length === 1 ? '' : 's'}, ${snapshotsRemoved} snapshot${snapshotsRemoved === 1 ? '' : 's'}\n`,
  );
  process.stdout.write(`Total reclaimed space: ${formatBytes(bytesFreed)}\n`);
}

function parseFilters(filters: string[]): { unusedForMs?: number } {
  const result: { unusedForMs?: number } = {};
  for (const filter of filters) {
    const [name, value = ''] = filter.split('=', 2);
    if (name !== 'until') throw new UserError(`unsupported filter "${filter}" (only until=DURATION)`, 'USAGE');
    try {
      result.unusedForMs = parseGoDuration(value) / 1e6;
    } catch (error) {
      throw new UserError(`--filter ${filter}: ${(error as Error).message}`, 'USAGE');
    }
  }
  return result;
}
