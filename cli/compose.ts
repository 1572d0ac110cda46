/**
 * The composition root: the only place that constructs concrete ports. Commands ask it for a
 * store (and, for builds, the full set of build dependencies).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { BuildDeps } from '../builder/session.js';
import { DiskCacheStore } from '../cache/cache-store.js';
import type { ImportedCache } from '../cache/remote/import.js';
import { LayeredCacheStore } from '../cache/remote/layered-cache-store.js';
import { LazyContentStore, lazyCommitter, lazySnapshotter } from '../cache/remote/lazy-layers.js';
import type { ImageStore } from '../store/images.js';
import { defaultStoreRoot, openStore as openStoreRoot } from '../store/store.js';
import { storeLayout } from '../store/layout.js';
import { StoreImageCommitter, StoreLayerWriter } from '../store/store-adapters.js';
import { StoreImageSource } from '../archive/store-image-source.js';
import type { ProgressSink, RunResult, RunSpec, Runner } from '../core/ports.js';
import { RegistryImageSource } from '../registry/image-source.js';
import type { RunnerKind } from '../runners/kinds.js';

/** `--root`, else the default (`$TZBUILD_ROOT`, /var/lib/tzbuild for root, ~/.local/share/tzbuild). */
export function storeRoot(flag?: string): string {
  return flag !== undefined && flag !== '' ? flag : defaultStoreRoot();
}

export interface OpenedStore {
  root: string;
  images: ImageStore;
  deps: BuildDeps;
  /** Where the stat cache of one context directory lives. */
  statCachePath(contextDir: string): string;
  /** The step cache with `--cache-from` caches behind it, when the build shares its cache. */
  sharedCache?: LayeredCacheStore;
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) the store at `root`, wired for building with progress to `sink`.
 * `shared` (`--cache-from`/`--cache-to` given): the step cache consults those imported caches
 * and remembers what the build used.
 */
export async function openStore(root: string, sink: ProgressSink, runner: RunnerKind = 'auto', shared?: { imports: ImportedCache[] }): Promise<OpenedStore> {
  const store = await openStoreRoot(root);
  const layout = storeLayout(store.root);
  const images: ImageStore = { content: store.content, tags: store.tags };
  const sharedCache = shared === undefined ? undefined : new LayeredCacheStore(layout.root, store.content, shared.imports);
  const lazy = sharedCache?.lazy;
  const deps: BuildDeps = {
    // With imported caches, their layers are fetched only when a step or the commit needs them.
    content: lazy ? new LazyContentStore(store.content, lazy) : store.content,
    snapshotter: lazy ? lazySnapshotter(store.snapshotter, lazy) : store.snapshotter,
    layers: new StoreLayerWriter(images),
    // FROM names with a registry (`localhost:5000/app:1`) are pulled when the store lacks them.
    images: new RegistryImageSource(new StoreImageSource(images), images),
    committer: lazy ? lazyCommitter(new StoreImageCommitter(images), lazy) : new StoreImageCommitter(images),
    cache: sharedCache ?? new DiskCacheStore(layout.root),
    runner: await lazyRunner(runner, store.tmpDir),
    sink,
    tmpDir: store.tmpDir,
  };
  return {
    root: layout.root,
    images,
    deps,
    ...(sharedCache === undefined ? {} : { sharedCache }),
    statCachePath: (contextDir) => join(layout.root, 'cache', 'contexts', `${createHash('sha256').update(contextDir).digest('hex').slice(0, 32)}.json`),
    close: async () => {
      await sink.close?.();
    },
  };
}

/** A store for commands that only read or tag images (no progress). */
export async function openImageStore(root: string): Promise<ImageStore> {
  return openStoreRoot(root);
}

/**
 * The runner, loaded on the first RUN that misses: a fully cached build never pays for the runner
 * modules. A runtime named by `--runner` is still checked now, so a missing one fails at once.
 */
async function lazyRunner(kind: RunnerKind, tmpRoot: string): Promise<Runner> {
  const make = async () => (await import('../runners/index.js')).createRunner(kind, { tmpRoot });
  if (kind === 'runc' || kind === 'crun') {
    const { findRuntime } = await import('../runners/oci/runtime-binary.js');
    if (!findRuntime(kind)) await make(); // throws the RUNNER_UNAVAILABLE error
  }
  let runner: Promise<Runner> | undefined;
  return {
    name: kind,
    run: async (spec: RunSpec): Promise<RunResult> => (await (runner ??= make())).run(spec),
  };
}
