/**
 * What one build needs: the ports it talks to (given by the composition root) and the user's
 * options. Step handlers receive a StepContext built from these.
 */
import type {
  BuildEvent,
  CacheStore,
  ContentStore,
  ImageCommitter,
  ImageSource,
  LayerWriter,
  ProgressSink,
  PullPolicy,
  Runner,
  Snapshotter,
} from '../core/ports.js';
import type { CacheResult } from './build-history.js';
import type { BuildContext } from './context/build-context.js';
import type { BuildPlan, StagePlan } from './plan.js';
import type { PlatformSpec } from './platform.js';

export interface BuildDeps {
  content: ContentStore;
  snapshotter: Snapshotter;
  layers: LayerWriter;
  images: ImageSource;
  committer: ImageCommitter;
  cache: CacheStore;
  runner: Runner;
  sink: ProgressSink;
  /** Scratch space on the store's filesystem (so finished layers can be renamed into place). */
  tmpDir: string;
}

export interface BuildOptions {
  contextDir: string;
  /** The Dockerfile's text and the name errors use for it. */
  dockerfile: { text: string; name: string };
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  /**
   * `--platform`: the target platforms (none: this machine's). More than one builds each and
   * commits an OCI index naming them, the tags pointing at the index.
   */
  platforms?: PlatformSpec[];
  noCache: boolean;
  /** Stages (by name or index) that must not use the cache. */
  noCacheFilter: string[];
  /** When base images are pulled (`--pull`; default `missing`). */
  pull?: PullPolicy;
  /** `--label`s, applied to the final image. */
  labels: Record<string, string>;
  sourceDateEpoch?: number;
  /** Plan only: report which steps would hit and which would run (and why), run nothing, commit nothing. */
  dryRun?: boolean;
  /** Where to keep the context's stat cache between builds. */
  statCachePath?: string;
  signal?: AbortSignal;
  /** The build's secrets by id, for RUN --mount=type=secret (`--secret id=x,src=FILE|env=VAR`). */
  secrets?: ReadonlyMap<string, SecretSource>;
}

/** Where a `--secret` value comes from: never part of a cache key, a layer or a log. */
export type SecretSource = { kind: 'file'; path: string } | { kind: 'env'; name: string };

/** Everything a step handler can reach. */
export interface StepContext {
  deps: BuildDeps;
  options: BuildOptions;
  plan: BuildPlan;
  stage: StagePlan;
  context: BuildContext;
  stepId: string;
  /**
   * Whether a later step reads the filesystem this step leaves (a RUN, COPY, ADD or WORKDIR after
   * it in the stage, or another stage built on it or copying from it): a layer the step writes is
   * then unpacked in the same pass, so that reader finds its snapshot ready.
   */
  snapshotNeeded: boolean;
  /** Emits an event with the current time filled in. */
  emit(event: EventWithoutTime): void;
  /** Cleanups to run when the step ends (temp downloads and the like), success or not. */
  cleanup: (() => Promise<unknown>)[];
  /**
   * Tidying that may finish after the step (unmounting a view it read): the build waits for it
   * before it ends, and a failure fails the build.
   */
  tidy(work: Promise<unknown>): void;
  /**
   * How the step met the cache, for the build's cache history (what `tzbuild check` advises
   * from); the step cache calls it once per step that used the cache.
   */
  noteCacheResult(result: CacheResult): void;
  /** Result of another stage (for COPY --from), built on demand. */
  stageResult(index: number): Promise<import('./state.js').StageState>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventWithoutTime = DistributiveOmit<BuildEvent, 'time'>;
