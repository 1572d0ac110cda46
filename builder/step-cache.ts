/**
 * The one place a step meets the cache: look the key up, replay a hit, or run the step, record
 * its result and explain the miss. A miss is a value (undefined from the store), never an error.
 */
import { cacheKey, changedInputs, explainFormat, explainMiss, outputInput } from '../cache/keys.js';
import { canonicalJson } from '../core/digest.js';
import { createHash } from 'node:crypto';
import type { CacheRecord, LayerRef } from '../core/ports.js';
import type { StepContext } from './session.js';
import type { StageState } from './state.js';
import { chainParent } from './history.js';
import type { StageBase } from './plan.js';
import { describeStep, type StepDescription, type StepInputs } from './step-inputs.js';

export interface StepOutcome {
  layer?: LayerRef;
  /** When the step first ran: history `created` comes from here so cached rebuilds keep the image ID. */
  created: string;
  cached: boolean;
}

export interface CachedStepInput {
  /**
   * Everything the step can observe, nothing it cannot: the key's op and the inputs that explain
   * a miss both come from it (the base is added here).
   */
  description: StepDescription;
  /**
   * Runs the step; returns the layer it added (undefined: no filesystem change). `earlier`: the
   * layer the same step (same Dockerfile, target and position) added the last time it ran over
   * the same layers below, when known: files that stay the same may come from its snapshot.
   */
  execute: (earlier?: LayerRef) => Promise<LayerRef | undefined>;
  /**
   * Inputs that replace those of the same name for a second key, from the content the step reads
   * rather than where it comes from (COPY --from a stage: the files, not the stage's chain ID).
   * Tried when the first key misses; results are recorded under both keys. Computing them may
   * cost a read of those files, hence only after a miss.
   */
  byContent?: () => Promise<StepInputs>;
}

/**
 * Runs `input.execute` unless the cache has a usable record for the step. The key's parent is
 * the chain ID of the state's layers.
 */
export async function cachedStep(ctx: StepContext, state: StageState, input: CachedStepInput): Promise<StepOutcome> {
  const parent = chainParent(state);
  // A record made without SOURCE_DATE_EPOCH has real mtimes: it must not serve a reproducible build.
  const epoch = ctx.options.sourceDateEpoch;
  const withEpoch = (op: Record<string, unknown>) => (epoch === undefined ? op : { ...op, sourceDateEpoch: epoch });
  const { op, explain } = describeStep(input.description);
  const step: KeyedStep = {
    key: cacheKey(parent, withEpoch(op)),
    identity: stepIdentity(ctx),
    explain: { ...explain, base: parent, image: state.baseId, format: explainFormat },
  };
  const first = await lookup(ctx, step);
  if (first.outcome !== undefined) return first.outcome;
  if (ctx.options.dryRun) {
    noteMiss(ctx, first);
    return dryRunOutcome(step.key);
  }
  const byContent =
    input.byContent && useCache(ctx)
      ? { ...step, key: cacheKey(parent, withEpoch(await contentOp(input))) }
      : undefined;
  // Two builds missing the same step at once: one runs it, the other waits and then hits.
  return ctx.deps.cache.lock(step.key, async () => {
    const second = await lookup(ctx, step);
    if (second.outcome !== undefined) return second.outcome;
    if (byContent !== undefined && byContent.key !== step.key) {
      const hit = await lookup(ctx, byContent);
      if (hit.outcome !== undefined && hit.record !== undefined) {
        // Next time the first key hits at once.
        await ctx.deps.cache.put(step.key, hit.record);
        noteUsed(ctx, step.key, hit.record);
        return hit.outcome;
      }
    }
    noteMiss(ctx, first);
    return runAndRecord(ctx, step, input, earlierLayer(second.previous, parent), byContent?.key);
  });
}

/** The op of the second key: the description with the content inputs in place. */
async function contentOp(input: CachedStepInput): Promise<Record<string, unknown>> {
  const inputs = { ...input.description.inputs, ...(await input.byContent!()) };
  return describeStep({ ...input.description, inputs }).op;
}

interface KeyedStep {
  key: string;
  /** Same Dockerfile, target and position across builds (for explanations). */
  identity: string;
  explain: Record<string, string>;
}

/** What a lookup found: a hit's outcome and record, or why it missed (and what changed, when the cache was used). */
interface Lookup {
  outcome?: StepOutcome;
  record?: CacheRecord;
  reason: string;
  changed?: string[];
  /** The inputs recorded the last time this step ran (or hit). */
  previous?: Record<string, string>;
}

/** A miss is announced and, unless the cache was off (nothing to learn), noted in the build's history. */
function noteMiss(ctx: StepContext, miss: Lookup): void {
  ctx.emit({ type: 'step.miss', stepId: ctx.stepId, reason: miss.reason });
  if (miss.changed !== undefined) ctx.noteCacheResult({ cached: false, reason: miss.reason, changed: miss.changed });
}

/** A hit (announced as `step.cached`), or why it missed. */
async function lookup(ctx: StepContext, step: KeyedStep): Promise<Lookup> {
  if (!useCache(ctx)) return { reason: 'cache disabled (--no-cache)' };
  const [record, previous] = await Promise.all([ctx.deps.cache.get(step.key), ctx.deps.cache.getInputs(step.identity)]);
  if (record === undefined || !(await layerPresent(ctx, record)))
    return {
      reason: explainMiss(previous, step.explain),
      changed: changedInputs(previous, step.explain),
      ...(previous === undefined ? {} : { previous }),
    };
  // The next miss is explained against this build, even when it was all hits.
  const inputs = withOutput(step.explain, record.layer);
  if (previous === undefined || canonicalJson(previous) !== canonicalJson(inputs))
    ctx.tidy(ctx.deps.cache.putInputs(step.identity, inputs));
  noteUsed(ctx, step.key, record);
  ctx.emit({ type: 'step.cached', stepId: ctx.stepId, savedMs: record.durationMs });
  ctx.noteCacheResult({ cached: true });
  return {
    outcome: { ...(record.layer ? { layer: record.layer } : {}), created: record.created, cached: true },
    record,
    reason: '',
  };
}

async function runAndRecord(
  ctx: StepContext,
  step: KeyedStep,
  input: CachedStepInput,
  earlier: LayerRef | undefined,
  contentKey?: string,
): Promise<StepOutcome> {
  const started = Date.now();
  const layer = await input.execute(earlier);
  const created = createdTime(ctx, started);
  const record: CacheRecord = { ...(layer ? { layer } : {}), durationMs: Date.now() - started, created };
  await ctx.deps.cache.put(step.key, record);
  // Only the next build's explanations read it: written while the build moves on.
  ctx.tidy(ctx.deps.cache.putInputs(step.identity, withOutput(step.explain, layer)));
  noteUsed(ctx, step.key, record);
  if (contentKey !== undefined && contentKey !== step.key) {
    await ctx.deps.cache.put(contentKey, record);
    noteUsed(ctx, contentKey, record);
  }
  ctx.emit({
    type: 'step.done',
    stepId: ctx.stepId,
    durationMs: record.durationMs,
    ...(layer ? { layerSize: layer.size } : {}),
  });
  return { ...(layer ? { layer } : {}), created, cached: false };
}

/** The inputs to record: the explained ones plus the layer the step added. */
function withOutput(explain: Record<string, string>, layer: LayerRef | undefined): Record<string, string> {
  return layer === undefined ? explain : { ...explain, [outputInput]: `${layer.diffId} ${layer.size}` };
}

/** The layer recorded in `previous` when that run was over the same layers below (`base`). */
function earlierLayer(previous: Record<string, string> | undefined, base: string): LayerRef | undefined {
  const output = previous?.[outputInput];
  if (output === undefined || previous?.base !== base) return undefined;
  const [diffId, size] = output.split(' ');
  if (diffId === undefined || !/^sha256:[a-f0-9]{64}$/.test(diffId) || !/^\d+$/.test(size ?? '')) return undefined;
  return { diffId: diffId as LayerRef['diffId'], size: Number(size) };
}

/** Tells the cache (for `--cache-to`) which record this step used and whether its stage is in the image. */
function noteUsed(ctx: StepContext, key: string, record: CacheRecord): void {
  ctx.deps.cache.noteUsed?.(key, record, {
    stage: ctx.stage.index,
    inFinalImage: finalImageStages(ctx.plan).has(ctx.stage.index),
  });
}

/** Per plan, computed once: every step of the build asks. */
const imageStagesOf = new WeakMap<StepContext['plan'], Set<number>>();

/** The target stage and the stages it is built FROM (their layers are the image's lower layers). */
function finalImageStages(plan: StepContext['plan']): Set<number> {
  const known = imageStagesOf.get(plan);
  if (known !== undefined) return known;
  const stages = new Set<number>();
  imageStagesOf.set(plan, stages);
  for (let index: number | undefined = plan.target; index !== undefined && !stages.has(index); ) {
    stages.add(index);
    const base: StageBase | undefined = plan.stages[index]?.base;
    index = base?.kind === 'stage' ? base.index : undefined;
  }
  return stages;
}

/**
 * In a dry run a missed step does not run: it stands in with a placeholder layer unique to its
 * key, so every step after it (rightly) misses too.
 */
function dryRunOutcome(key: string): StepOutcome {
  return {
    layer: { diffId: `sha256:${createHash('sha256').update(`dry-run ${key}`).digest('hex')}`, size: 0 },
    created: new Date(0).toISOString(),
    cached: false,
  };
}

function useCache(ctx: StepContext): boolean {
  if (ctx.options.noCache) return false;
  const { name, index } = ctx.stage;
  return !ctx.options.noCacheFilter.some((filter) => filter.toLowerCase() === name || filter === String(index));
}

async function layerPresent(ctx: StepContext, record: CacheRecord): Promise<boolean> {
  return record.layer === undefined || ctx.deps.content.has(record.layer.diffId);
}

/** With SOURCE_DATE_EPOCH every timestamp is that epoch, so cold builds are reproducible. */
export function createdTime(ctx: StepContext, now: number): string {
  const epoch = ctx.options.sourceDateEpoch;
  return new Date(epoch === undefined ? now : epoch * 1000).toISOString();
}

/** Same Dockerfile, same target, same step position → same identity, across builds. */
function stepIdentity(ctx: StepContext): string {
  return createHash('sha256')
    .update(JSON.stringify([ctx.options.contextDir, ctx.options.dockerfile.name, ctx.plan.target, ctx.stepId]))
    .digest('hex');
}
