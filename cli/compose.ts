/**
 * The composition root: the only place that constructs concrete ports (the architecture test,
 * test/unit/architecture.test.ts, holds every other module to it). Commands ask it for a store
 * and, for builds, the full set of build dependencies; it also decides which runner runs RUN.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StoreExporter } from '../archive/exporter.js';
import { StoreImageSource } from '../archive/store-image-source.js';
import type { BuildDeps } from '../builder/session.js';
import type { ContainerDeps } from '../containers/deps.js';
import { UserError } from '../core/errors.js';
import { registrySettings } from './registry-settings.js';
import type { Exporter, ProgressSink, RunResult, RunSpec, Runner } from '../core/ports.js';
import { DiskCacheStore } from '../cache/cache-store.js';
import type { ImportedCache } from '../cache/remote/import.js';
import { LayeredCacheStore } from '../cache/remote/layered-cache-store.js';
import { LazyContentStore, lazyCommitter, lazySnapshotter } from '../cache/remote/lazy-layers.js';
import { RegistryImageSource } from '../registry/image-source.js';
import { stopOrphanedContainers } from '../runners/oci/recover-containers.js';
import type { OciRuntimeKind } from '../runners/oci/runtime-binary.js';
import { RUNNER_KINDS, type RunnerKind } from '../runners/kinds.js';
import type { NetworkMode } from '../runners/namespaces.js';
import { FsContentStore } from '../store/content-store.js';
import { ContainerStore } from '../store/containers.js';
import type { ImageStore } from '../store/images.js';
import { FsSnapshotter } from '../store/snapshotter.js';
import { recoverStore } from '../store/recover.js';
import { claimStoreRoot, defaultStoreRoot, type OpenedStore } from '../store/store.js';
import { StoreImageCommitter, StoreLayerWriter } from '../store/store-adapters.js';
import { IndexTagStore } from '../store/tag-store.js';
import { inUserNamespace } from '../sys/userns.js';

export { storeRoot } from './store-root.js';

/**
 * Opens (creating when missing) the store at `root`: its content store, tags and snapshotter,
 * this process's lease and scratch dir, and, unless `recover` is false, recovery after crashed
 * processes, including the containers a killed build left running.
 */
export async function openStore(
  root: string = defaultStoreRoot(),
  options: { recover?: boolean } = {},
): Promise<OpenedStore> {
  const content = await FsContentStore.open(root);
  // Opening the content store created the layout; the tag store needs nothing more.
  const tags = new IndexTagStore(content.root);
  const tmpDir = await claimStoreRoot(content.root, {
    recover: options.recover === false ? false : { stopContainers: stopOrphanedContainers },
  });
  return { root: content.root, content, tags, snapshotter: new FsSnapshotter(content), tmpDir };
}

export interface BuildStore {
  root: string;
  images: ImageStore;
  deps: BuildDeps;
  /** Writes `--output` targets. */
  exporter: Exporter;
  /** Where the stat cache of one context directory lives. */
  statCachePath(contextDir: string): string;
  /** The step cache with `--cache-from` caches behind it, when the build shares its cache. */
  sharedCache?: LayeredCacheStore;
  close(): Promise<void>;
}

/** What a build's store is wired with. */
export interface BuildStoreOptions {
  /** Where progress goes. */
  sink: ProgressSink;
  /** What runs RUN steps (default `auto`). */
  runner?: RunnerKind;
  /**
   * `--cache-from`/`--cache-to` given: the step cache consults those imported caches and
   * remembers what the build used.
   */
  shared?: { imports: ImportedCache[] };
  /** `--insecure-registry` values, beside the store's `insecure-registries`. */
  insecureRegistries?: readonly string[];
}

/** Opens the store at `root` wired for building. */
export async function openBuildStore(root: string, options: BuildStoreOptions): Promise<BuildStore> {
  const { sink, runner = 'auto', shared } = options;
  const store = await openStore(root);
  const images: ImageStore = { content: store.content, tags: store.tags };
  const localCache = new DiskCacheStore(store.root);
  const sharedCache =
    shared === undefined ? undefined : new LayeredCacheStore(localCache, store.content, shared.imports);
  const lazy = sharedCache?.lazy;
  const deps: BuildDeps = {
    // With imported caches, their layers are fetched only when a step or the commit needs them.
    content: lazy ? new LazyContentStore(store.content, lazy) : store.content,
    snapshotter: lazy ? lazySnapshotter(store.snapshotter, lazy) : store.snapshotter,
    layers: new StoreLayerWriter(images),
    // Bases the store lacks are pulled (Docker Hub names through the configured mirrors).
    images: new RegistryImageSource(new StoreImageSource(images), images, {
      settings: () => registrySettings(store.root, options.insecureRegistries),
    }),
    committer: lazy ? lazyCommitter(new StoreImageCommitter(images), lazy) : new StoreImageCommitter(images),
    cache: sharedCache ?? localCache,
    runner: await lazyRunner(runner, store.tmpDir),
    sink,
    tmpDir: store.tmpDir,
  };
  return {
    root: store.root,
    images,
    deps,
    exporter: new StoreExporter(images),
    ...(sharedCache === undefined ? {} : { sharedCache }),
    statCachePath: (contextDir) =>
      join(
        store.root,
        'cache',
        'contexts',
        `${createHash('sha256').update(contextDir).digest('hex').slice(0, 32)}.json`,
      ),
    close: async () => {
      await sink.close?.();
    },
  };
}

/**
 * The store wired for the container commands (`run`, `commit`, `diff` …): images a `run` names
 * are pulled when missing, the runner is made on the first run.
 */
export async function openContainerStore(
  root: string,
  options: { runner?: RunnerKind; insecureRegistries?: readonly string[] } = {},
): Promise<ContainerDeps> {
  const kind = options.runner ?? 'auto';
  const store = await openStore(root);
  const images: ImageStore = { content: store.content, tags: store.tags };
  let runner: Promise<Runner> | undefined;
  return {
    root: store.root,
    containers: new ContainerStore(store.root),
    store: images,
    images: new RegistryImageSource(new StoreImageSource(images), images, {
      settings: () => registrySettings(store.root, options.insecureRegistries),
    }),
    snapshotter: store.snapshotter,
    layers: new StoreLayerWriter(images),
    committer: new StoreImageCommitter(images),
    runner: (terminal) => (runner ??= createRunner(kind, { tmpRoot: store.tmpDir, terminal })),
    tmpDir: store.tmpDir,
    recover: async () => {
      await recoverStore(store.root, { stopContainers: stopOrphanedContainers });
    },
  };
}

/** A store for commands that only read or tag images (no progress). */
export async function openImageStore(root: string): Promise<ImageStore> {
  return openStore(root);
}

/** Options shared by every runner. */
export interface CreateRunnerOptions {
  /** Parent of the per-step scratch dirs (the store's `tmp/`, on the upperdirs' filesystem). */
  tmpRoot?: string;
  /** Network when a RunSpec names none (default `host`). */
  network?: NetworkMode;
  /** Finds a runtime binary; tests and unusual installs can override it (default: sbin/bin dirs). */
  findRuntime?: (kind: OciRuntimeKind) => string | undefined;
  /**
   * For a container with a terminal (`run -t`): `auto` takes runc, else the namespace runner,
   * never crun, whose foreground terminal (1.8) leaves the window size unset (TIOCGWINSZ fails).
   */
  terminal?: boolean;
}

/** Runtimes `auto` tries, in order of preference. */
const AUTO_ORDER: readonly OciRuntimeKind[] = ['crun', 'runc'];
/** Runtimes `auto` tries for a container with a terminal (see CreateRunnerOptions.terminal). */
const TERMINAL_ORDER: readonly OciRuntimeKind[] = ['runc'];

/**
 * The runner for `kind`: `auto` takes an installed OCI runtime (crun, then runc: both run the
 * same spec, and crun starts a container faster, docs/runners.md) and falls back to the namespace
 * runner, which needs nothing but util-linux and perl-base; rootless (inside tzbuild's user
 * namespace) it takes the namespace runner. A runtime asked for by name that is not installed is
 * a UserError (`RUNNER_UNAVAILABLE`); `auto` never fails. Runner code loads only here.
 */
export async function createRunner(kind: RunnerKind, options: CreateRunnerOptions = {}): Promise<Runner> {
  const find = options.findRuntime ?? (await import('../runners/oci/runtime-binary.js')).findRuntime;
  const common = { tmpRoot: options.tmpRoot, network: options.network };
  const namespaces = async () => new (await import('../runners/namespaces.js')).NamespaceRunner(common);
  const oci = async (runtime: OciRuntimeKind, binary: string) =>
    new (await import('../runners/oci/oci-runtime.js')).OciRuntimeRunner({ ...common, runtime, binary });
  if (kind === 'namespaces') return namespaces();
  if (kind === 'auto') {
    // Rootless (in a user namespace): the namespace runner needs nothing the host withholds.
    if (inUserNamespace()) return namespaces();
    for (const runtime of options.terminal ? TERMINAL_ORDER : AUTO_ORDER) {
      const binary = find(runtime);
      if (binary) return oci(runtime, binary);
    }
    return namespaces();
  }
  if (!(AUTO_ORDER as readonly string[]).includes(kind))
    throw new UserError(`unknown runner "${String(kind)}" (use ${RUNNER_KINDS.join(', ')})`, 'RUNNER_UNKNOWN');
  const binary = find(kind as OciRuntimeKind);
  if (!binary)
    throw new UserError(
      `--runner ${kind}: ${kind} is not installed (apt-get install ${kind}, or use --runner auto)`,
      'RUNNER_UNAVAILABLE',
    );
  return oci(kind as OciRuntimeKind, binary);
}

/**
 * The runner, loaded on the first RUN that misses: a fully cached build never pays for the runner
 * modules. A runtime named by `--runner` is still checked now, so a missing one fails at once.
 */
async function lazyRunner(kind: RunnerKind, tmpRoot: string): Promise<Runner> {
  const make = () => createRunner(kind, { tmpRoot });
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
