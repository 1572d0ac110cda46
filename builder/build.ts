/**
 * The build entry: Dockerfile text → image in the store. Reads as the story of a build: parse,
 * plan, open the context, solve the target stage, commit the image. With several `--platform`s:
 * one plan and one solver per platform over the one context, stages that do not depend on the
 * target platform built once, each platform's image committed, then an index of them tagged.
 */
import type { Digest } from '../core/oci.js';
import type { BuildPlan } from './plan.js';
import { planFor } from './plan-dockerfile.js';
import { countSteps, Solver, type SolverShare } from './solver.js';
import { openBuildContext } from './context/index.js';
import type { BuildDeps, BuildOptions } from './session.js';
import type { StageState } from './state.js';
import { historyIdentity } from './build-history.js';
import { checkEmulators, countSharedSteps, platformIdPrefix, stageSignatures } from './multi-platform.js';
import { formatPlatform, type PlatformSpec } from './platform.js';

export { planFor } from './plan-dockerfile.js';

export interface BuildResult {
  /** Undefined after a dry run, which commits nothing. The index digest of a multi-platform build. */
  imageId?: Digest;
  manifestDigest?: Digest;
  tags: string[];
  cached: number;
  ran: number;
  /** A multi-platform build: each platform's image (`linux/arm64` → its manifest digest). */
  platforms?: { platform: string; imageId: Digest; manifestDigest: Digest }[];
}

export async function build(options: BuildOptions, deps: BuildDeps): Promise<BuildResult> {
  const platforms = options.platforms ?? [];
  const plans = (platforms.length === 0 ? [undefined] : platforms).map((platform) =>
    planFor({ ...options, ...(platform === undefined ? {} : { platform }) }),
  );
  if (!options.dryRun) for (const plan of plans) checkEmulators(plan);
  const context = await openBuildContext(options.contextDir, {
    dockerfileName: options.dockerfile.name,
    ...(options.statCachePath ? { statCachePath: options.statCachePath } : {}),
  });
  const multi = plans.length > 1;
  const shares = multi ? sharesFor(plans) : undefined;
  const steps = shares?.[0]?.steps.total ?? countSteps(plans[0]!);
  const stages = new Set(
    plans.flatMap((plan, i) => plan.needed.map((index) => shares?.[i]?.signatures[index] ?? index)),
  );
  deps.sink.emit({ type: 'build.start', time: Date.now(), steps, stages: stages.size });
  // One abort for all platforms: the first failure stops every solver.
  const abort = new AbortController();
  options.signal?.addEventListener('abort', () => abort.abort(options.signal?.reason), { once: true });
  const solvers = plans.map(
    (plan, i) => new Solver(plan, deps, { ...options, signal: abort.signal }, context, shares?.[i]),
  );
  let states: StageState[];
  let committed: { imageId: Digest; manifestDigest: Digest }[] = [];
  let index: Digest | undefined;
  try {
    states = await Promise.all(
      solvers.map(async (solver, i) => {
        const plan = plans[i]!;
        return solver.stageResult(plan.target).catch((error: unknown) => {
          abort.abort(error);
          throw error;
        });
      }),
    ).then((results) =>
      results.map((state, i) => {
        const labelled = withLabels(state, options.labels);
        return platforms.length === 0 ? labelled : withTargetPlatform(labelled, plans[i]!.platform);
      }),
    );
    if (!options.dryRun) {
      // The commit overlaps the last steps' tidying (StepContext.tidy), which settled() waits for.
      const tags = multi ? [] : options.tags;
      committed = await Promise.all(states.map((state) => deps.committer.commit(state.config, state.layers, tags)));
      if (multi)
        index = await deps.committer.commitIndex(
          committed.map((image) => image.manifestDigest),
          options.tags,
        );
      // The store's history of the Dockerfile follows the first platform (what `check` advises from).
      solvers[0]!.tidy(recordHistory(options, deps, plans[0]!, solvers[0]!));
    }
  } catch (error) {
    await Promise.all(solvers.map((solver) => solver.settled().catch(() => undefined)));
    throw firstFailure(solvers) ?? error;
  } finally {
    await context.close();
  }
  // Nothing runs on after the build, and a failure to tidy fails it.
  for (const solver of solvers) await solver.settled();
  const cached = solvers.reduce((sum, solver) => sum + solver.counts.cached, 0);
  const ran = solvers.reduce((sum, solver) => sum + solver.counts.ran, 0);
  if (committed.length === 0) return { tags: [], cached, ran };
  const imageId = index ?? committed[0]!.imageId;
  const manifestDigest = index ?? committed[0]!.manifestDigest;
  const size = states.flatMap((state) => state.layers).reduce((sum, layer) => sum + layer.size, 0);
  deps.sink.emit({
    type: 'build.done',
    time: Date.now(),
    imageId,
    manifestDigest,
    tags: options.tags,
    cached,
    ran,
    size,
  });
  const perPlatform = multi
    ? committed.map((image, i) => ({ platform: formatPlatform(plans[i]!.platform), ...image }))
    : undefined;
  return {
    imageId,
    manifestDigest,
    tags: options.tags,
    cached,
    ran,
    ...(perPlatform ? { platforms: perPlatform } : {}),
  };
}

/** The solvers' shared state for a multi-platform build (see SolverShare). */
function sharesFor(plans: BuildPlan[]): SolverShare[] {
  const signatures = plans.map(stageSignatures);
  const common = new Set(signatures[0]!.filter((signature) => signatures.every((list) => list.includes(signature))));
  const stages = new Map<string, Promise<StageState>>();
  const steps = { number: 0, total: countSharedSteps(plans, signatures, common) };
  return plans.map((plan, i) => ({
    stages,
    signatures: signatures[i]!,
    common,
    steps,
    idPrefix: platformIdPrefix(plan.platform),
    labelPrefix: `${formatPlatform(plan.platform)} `,
  }));
}

function firstFailure(solvers: Solver[]): unknown {
  return solvers.find((solver) => solver.firstFailure !== undefined)?.firstFailure;
}

/** Adds this build to the store's history of the Dockerfile (what `tzbuild check` advises from). */
function recordHistory(options: BuildOptions, deps: BuildDeps, plan: BuildPlan, solver: Solver): Promise<void> {
  const target = plan.stages[plan.target];
  const entry = solver.history.entry(target?.name ?? String(plan.target), new Date());
  // With the cache off nothing was compared: such a build says nothing about what keeps changing.
  if (entry.steps.length === 0) return Promise.resolve();
  return deps.cache.appendHistory(historyIdentity(options.contextDir, options.dockerfile.name), entry);
}

/**
 * With `--platform` given, the image says it is for the target platform even when its last stage
 * ran on another (`FROM --platform=$BUILDPLATFORM …` as the final stage), as BuildKit does; the
 * variant is kept when the target names none for the same os and architecture.
 */
function withTargetPlatform(state: StageState, target: PlatformSpec): StageState {
  const config = state.config;
  const sameOsArch = config.os === target.os && config.architecture === target.architecture;
  const variant = target.variant !== undefined || !sameOsArch ? target.variant : config.variant;
  const { variant: _old, ...rest } = config;
  return {
    ...state,
    config: { ...rest, os: target.os, architecture: target.architecture, ...(variant ? { variant } : {}) },
  };
}

/** `--label` goes onto the final image only, like `docker build --label`. */
function withLabels(state: StageState, labels: Record<string, string>): StageState {
  if (Object.keys(labels).length === 0) return state;
  const config = state.config.config;
  return {
    ...state,
    config: { ...state.config, config: { ...config, Labels: { ...(config.Labels ?? {}), ...labels } } },
  };
}
