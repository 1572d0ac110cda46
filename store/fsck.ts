/**
 * `tzbuild system fsck`: checks that the store is what it claims to be and, with `repair`,
 * removes what is wrong so every remaining reference holds.
 *
 * Checked: every blob's bytes against its digest; every tag → manifest → config and layers;
 * every snapshot dir has its completion marker (an unpack in progress, whose lock is held, is not
 * a problem); every container has a record, its image and its writable layer's dirs. Cache
 * records are checked by cache/cache-store.ts (`checkCacheRecords`), which the CLI runs after this
 * so records pointing at a just-removed blob are caught too.
 * Repair order matters: corrupt blobs go first, then the tags that named them.
 */
import { createReadStream } from 'node:fs';
import { readdir, rename, stat } from 'node:fs/promises';
import { removeTree } from '../sys/remove-tree.js';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { acquireLock } from '../sys/file-lock.js';
import { loadManifest, manifestsOf, type ImageStore } from './images.js';
import { initStoreLayout, storeLayout, type StoreLayout } from './layout.js';
import type { Digest } from '../core/oci.js';
import { ContainerStore, type ContainerDirs } from './containers.js';
import { snapshotComplete } from './snapshotter.js';

/** One thing fsck found wrong. */
export interface StoreProblem {
  kind:
    | 'corrupt-blob'
    | 'corrupt-index'
    | 'broken-tag'
    | 'incomplete-snapshot'
    | 'stray-entry'
    | 'corrupt-record'
    | 'dangling-record'
    | 'broken-container';
  /** What it is about: a digest, a tag, a snapshot, a record key. */
  subject: string;
  detail: string;
  /** Set when `repair` removed it. */
  repaired?: boolean;
}

/** Options for {@link checkStore}. */
export interface CheckOptions {
  repair?: boolean;
}

/** Checks blobs, tags and snapshots of the store; see the module comment. */
export async function checkStore(store: ImageStore, options: CheckOptions = {}): Promise<StoreProblem[]> {
  const layout = storeLayout(store.content.root);
  const problems: StoreProblem[] = [];
  problems.push(...(await checkBlobs(store, options)));
  // Without repair the corrupt blobs are still there: what refers to them is broken all the same.
  const corrupt = new Set(problems.map((problem) => problem.subject));
  problems.push(...(await checkTags(store, layout, corrupt, options)));
  problems.push(...(await checkSnapshots(layout, options)));
  problems.push(...(await checkContainers(store, layout, options)));
  return problems;
}

/**
 * Containers: a readable record, its image's manifest, config and layers in the store, and its
 * upper and work dirs. Repair removes a container that cannot run again (its writable layer
 * with it: nothing else can make use of it).
 */
async function checkContainers(store: ImageStore, layout: StoreLayout, options: CheckOptions): Promise<StoreProblem[]> {
  const containers = new ContainerStore(layout.root);
  const problems: StoreProblem[] = [];
  for (const name of await readdir(layout.containers).catch(() => [] as string[])) {
    const dirs = containers.dirs(name);
    const broken = await whyBroken(store, containers, name, dirs);
    if (broken === undefined) continue;
    const problem: StoreProblem = { kind: 'broken-container', subject: `containers/${name}`, detail: broken };
    if (options.repair) await removeTree(dirs.dir).then(() => (problem.repaired = true));
    problems.push(problem);
  }
  return problems;
}

async function whyBroken(
  store: ImageStore,
  containers: ContainerStore,
  name: string,
  dirs: ContainerDirs,
): Promise<string | undefined> {
  if (!/^[a-f0-9]{64}$/.test(name)) return 'not a container';
  const record = await containers.read(name).catch((error: Error) => error);
  if (record instanceof Error) return `unreadable record: ${record.message}`;
  const image = await loadManifest(store, record.image.manifest).catch((error: Error) => error);
  if (image instanceof Error) return `its image ${record.image.name} is gone: ${image.message}`;
  for (const layer of image.layers)
    if (!(await store.content.has(layer.diffId))) return `its image ${record.image.name} lacks layer ${layer.diffId}`;
  for (const dir of [dirs.upper, dirs.work])
    if (
      !(await stat(dir)
        .then((info) => info.isDirectory())
        .catch(() => false))
    )
      return `${dir} is missing`;
  return undefined;
}

/** The sha256 of a file, streamed. */
export async function fileDigest(file: string): Promise<Digest> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return `sha256:${hash.digest('hex')}`;
}

async function checkBlobs(store: ImageStore, options: CheckOptions): Promise<StoreProblem[]> {
  const problems: StoreProblem[] = [];
  for (const digest of await store.content.list()) {
    const actual = await fileDigest(store.content.blobPath(digest)).catch(() => undefined);
    // Vanished meanwhile (a concurrent prune): nothing to say.
    if (actual === undefined || actual === digest) continue;
    const problem: StoreProblem = { kind: 'corrupt-blob', subject: digest, detail: `content hashes to ${actual}` };
    if (options.repair) {
      await store.content.delete(digest);
      problem.repaired = true;
    }
    problems.push(problem);
  }
  return problems;
}

async function checkTags(
  store: ImageStore,
  layout: StoreLayout,
  corrupt: Set<string>,
  options: CheckOptions,
): Promise<StoreProblem[]> {
  let tags: Awaited<ReturnType<ImageStore['tags']['list']>>;
  try {
    tags = await store.tags.list();
  } catch (err) {
    const problem: StoreProblem = { kind: 'corrupt-index', subject: 'index.json', detail: (err as Error).message };
    if (options.repair) {
      // Nothing in it can be trusted; keep the bytes for a human and start an empty index.
      await rename(layout.index, `${layout.index}.corrupt-${Date.now()}`);
      await initStoreLayout(layout.root);
      problem.repaired = true;
    }
    return [problem];
  }
  const problems: StoreProblem[] = [];
  for (const { name, manifest } of tags) {
    const broken = await brokenReason(store, manifest.digest, corrupt);
    if (broken === undefined) continue;
    const problem: StoreProblem = { kind: 'broken-tag', subject: name, detail: broken };
    if (options.repair) problem.repaired = await store.tags.remove(name);
    problems.push(problem);
  }
  return problems;
}

/** Why the image a tag names cannot be used, or undefined when it is whole. */
async function brokenReason(
  store: ImageStore,
  manifestDigest: Digest,
  corrupt: Set<string>,
): Promise<string | undefined> {
  const usable = async (digest: Digest) => !corrupt.has(digest) && (await store.content.has(digest));
  if (!(await usable(manifestDigest))) return `manifest ${manifestDigest} is missing or corrupt`;
  let manifests: Digest[];
  try {
    // A multi-platform image is whole when every platform's image is.
    manifests = (await manifestsOf(store, manifestDigest)).map((entry) => entry.digest);
  } catch (err) {
    return (err as Error).message;
  }
  if (manifests.length === 1 && manifests[0] === manifestDigest) return brokenImage(store, manifestDigest, usable);
  for (const digest of manifests) {
    if (!(await usable(digest))) return `manifest ${digest} is missing or corrupt`;
    const broken = await brokenImage(store, digest, usable);
    if (broken !== undefined) return broken;
  }
  return undefined;
}

async function brokenImage(
  store: ImageStore,
  manifestDigest: Digest,
  usable: (digest: Digest) => Promise<boolean>,
): Promise<string | undefined> {
  let layers: Digest[];
  try {
    const image = await loadManifest(store, manifestDigest);
    if (!(await usable(image.configDigest))) return `config ${image.configDigest} is missing or corrupt`;
    layers = image.layers.map((layer) => layer.diffId);
  } catch (err) {
    return (err as Error).message;
  }
  for (const layer of layers) {
    if (!(await usable(layer))) return `layer ${layer} is missing or corrupt`;
  }
  return undefined;
}

async function checkSnapshots(layout: StoreLayout, options: CheckOptions): Promise<StoreProblem[]> {
  const problems: StoreProblem[] = [];
  for (const name of await readdir(layout.snapshots).catch(() => [] as string[])) {
    const dir = path.join(layout.snapshots, name);
    if (!/^[a-f0-9]{64}$/.test(name)) {
      const problem: StoreProblem = { kind: 'stray-entry', subject: `snapshots/${name}`, detail: 'not a snapshot' };
      if (options.repair) await removeTree(dir).then(() => (problem.repaired = true));
      problems.push(problem);
      continue;
    }
    if (await snapshotComplete(layout, name)) continue;
    const lock = await acquireLock(path.join(layout.locks, `snapshot-${name}`), { noWait: true });
    if (lock === undefined) continue; // being unpacked right now
    try {
      if (await snapshotComplete(layout, name)) continue;
      const problem: StoreProblem = {
        kind: 'incomplete-snapshot',
        subject: name,
        detail: 'no completion marker (unpack was interrupted)',
      };
      if (options.repair) {
        await removeTree(dir);
        problem.repaired = true;
      }
      problems.push(problem);
    } finally {
      await lock.release();
    }
  }
  return problems;
}
