/**
 * The build entry: Dockerfile text → image in the store. Reads as the story of a build: parse,
 * plan, open the context, solve the target stage, commit the image.
 */
import type { Digest } from '../core/oci.js';
import type { BuildPlan } from './plan.js';
import { planFor } from './plan-dockerfile.js';
import { countSteps, Solver } from './solver.js';
import { openBuildContext } from './context/index.js';
import type { BuildDeps, BuildOptions } from './session.js';
import type { StageState } from './state.js';
import { historyIdentity } from './build-history.js';

export { planFor } from './plan-dockerfile.js';

export interface BuildResult {
  /** Undefined after a dry run, which commits nothing. */
  imageId?: Digest;
  manifestDigest?: Digest;
  tags: string[];
  cached: number;
  ran: number;
}

export async function build(options: BuildOptions, deps: BuildDeps): Promise<BuildResult> {
  const plan = planFor(options);
  const context = await openBuildContext(options.contextDir, {
    dockerfileName: options.dockerfile.name,
    ...(options.statCachePath ? { statCachePath: options.statCachePath } : {}),
  });
  deps.sink.emit({ type: 'build.start', time: Date.now(), steps: countSteps(plan), stages: plan.needed.length });
  const solver = new Solver(plan, deps, options, context);
  let state: StageState;
  let committed: { imageId: Digest; manifestDigest: Digest } | undefined;
  try {
    state = withLabels(await solver.stageResult(plan.target), options.labels);
    // The commit overlaps the last steps' tidying (StepContext.tidy), which settled() waits for.
    if (!options.dryRun) committed = await deps.committer.commit(state.config, state.layers, options.tags);
    if (!options.dryRun) solver.tidy(recordHistory(options, deps, plan, solver));
  } catch (error) {
    await solver.settled().catch(() => undefined);
    throw solver.firstFailure ?? error;
  } finally {
    await context.close();
  }
  // Nothing runs on after the build, and a failure to tidy fails it.
  await solver.settled();
  const { cached, ran } = solver.counts;
  if (committed === undefined) return { tags: [], cached, ran };
  const { imageId, manifestDigest } = committed;
  const size = state.layers.reduce((sum, layer) => sum + layer.size, 0);
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
  return { imageId, manifestDigest, tags: options.tags, cached, ran };
}

/** Adds this build to the store's history of the Dockerfile (what `tzbuild check` advises from). */
function recordHistory(options: BuildOptions, deps: BuildDeps, plan: BuildPlan, solver: Solver): Promise<void> {
  const target = plan.stages[plan.target];
  const entry = solver.history.entry(target?.name ?? String(plan.target), new Date());
  // With the cache off nothing was compared: such a build says nothing about what keeps changing.
  if (entry.steps.length === 0) return Promise.resolve();
  return deps.cache.appendHistory(historyIdentity(options.contextDir, options.dockerfile.name), entry);
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
