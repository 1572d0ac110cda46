/**
 * The solver: builds stages on demand, each once, independent ones at the same time. A stage
 * starts from its base (scratch, an earlier stage or an image), runs its base's ONBUILD triggers,
 * then its own instructions in order through the handler table.
 */
import { locatedAt } from '../core/errors.js';
import type { Instruction } from './instructions.js';
import type { BuildPlan, StagePlan } from './plan.js';
import type { BuildDeps, BuildOptions, EventWithoutTime, StepContext } from './session.js';
import type { BuildContext } from './context/build-context.js';
import { scratchConfig, type StageState } from './state.js';
import { runInstruction } from './handlers.js';
import { parseTriggers } from './onbuild.js';
import { chainIdOf } from './history.js';
import { resolveBaseImage } from './base-image.js';
import { BuildHistoryRecorder } from './build-history.js';

/** Total number of steps the needed stages will show (FROM counts as a step, as in Docker). */
export function countSteps(plan: BuildPlan): number {
  return plan.needed.reduce((sum, index) => sum + 1 + plan.stages[index]!.instructions.length, 0);
}

/**
 * What the solvers of a multi-platform build share: the results of stages that come out the same
 * for every target platform (those on `$BUILDPLATFORM` that read no TARGET* ARG), so each is built
 * once; the step numbering; and how this solver's steps and stages are named.
 */
export interface SolverShare {
  /** Results by stage signature (multi-platform.ts `stageSignatures`). */
  stages: Map<string, Promise<StageState>>;
  /** Each stage's signature in this solver's plan, by stage index. */
  signatures: string[];
  /** Signatures every platform's plan has: their stages are named without a platform. */
  common: Set<string>;
  steps: { number: number; total: number };
  /** Step-ID and stage-label prefix of this platform (`linux-arm64.`, `linux/arm64 `). */
  idPrefix: string;
  labelPrefix: string;
}

export class Solver {
  private readonly results = new Map<number, Promise<StageState>>();
  private readonly steps: { number: number; total: number };
  /** Aborted by the caller's signal or by the first stage that fails. */
  private readonly abort = new AbortController();
  /** Steps answered from the cache vs steps that ran, so far. */
  readonly counts = { cached: 0, ran: 0 };
  /** How each step met the cache, for the store's build history. */
  readonly history = new BuildHistoryRecorder();
  constructor(
    private readonly plan: BuildPlan,
    private readonly deps: BuildDeps,
    private options: BuildOptions,
    private readonly context: BuildContext,
    private readonly share?: SolverShare,
  ) {
    this.steps = share?.steps ?? { number: 0, total: countSteps(plan) };
    options.signal?.addEventListener('abort', () => this.abort.abort(options.signal?.reason), { once: true });
    this.options = { ...options, signal: this.abort.signal };
  }

  /** The finished state of stage `index`; starts it (and its dependencies) on first call. */
  stageResult(index: number): Promise<StageState> {
    let result = this.results.get(index);
    if (result === undefined) {
      const signature = this.share?.signatures[index];
      const shared = signature === undefined ? undefined : this.share?.stages.get(signature);
      result = shared ?? this.buildStage(this.plan.stages[index]!);
      if (signature !== undefined && shared === undefined) this.share?.stages.set(signature, result);
      // The first failure stops every other stage: their running steps are killed, not awaited.
      result.catch((error: unknown) => {
        if (!this.abort.signal.aborted) this.firstFailure = error;
        this.abort.abort(error);
      });
      this.results.set(index, result);
    }
    return result;
  }

  /** The error that stopped the build first (later ones are its consequences), if any. */
  firstFailure: unknown;

  /**
   * Settles once every started stage has settled (so nothing runs on after a failed build) and
   * every step's tidying is done; throws what tidying failed with, unless the build failed first.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.results.values()]);
    await Promise.all(this.tidying);
    if (this.tidyFailure !== undefined && this.firstFailure === undefined) throw this.tidyFailure;
  }

  private readonly tidying: Promise<void>[] = [];
  private tidyFailure: unknown;

  /** Work that may finish after the step or build that started it; {@link settled} waits for it. */
  tidy(work: Promise<unknown>): void {
    this.tidying.push(
      work.then(
        () => undefined,
        (error: unknown) => {
          this.tidyFailure ??= error;
        },
      ),
    );
  }

  emit(event: EventWithoutTime): void {
    if (event.type === 'step.cached') this.counts.cached += 1;
    if (event.type === 'step.miss') this.counts.ran += 1;
    this.deps.sink.emit({ ...event, time: Date.now() } as Parameters<typeof this.deps.sink.emit>[0]);
  }

  private async buildStage(stage: StagePlan): Promise<StageState> {
    // Start every stage this one reads now, so independent stages run side by side.
    const prefetched = [...stage.deps].map((dep) => this.stageResult(dep));
    for (const promise of prefetched) promise.catch(() => undefined);
    this.emit({ type: 'stage.start', stage: this.stageLabel(stage) });
    let state = await this.baseState(stage);
    const triggers = parseTriggers(state, this.plan.file, stage.from.range.startLine);
    state = { ...state, config: { ...state.config, config: { ...state.config.config, OnBuild: null } } };
    const steps = [
      ...triggers.map((instruction, index) => ({ instruction, stepId: this.stepId(stage, `onbuild${index + 1}`) })),
      ...stage.instructions.map((instruction, index) => ({ instruction, stepId: this.stepId(stage, `${index + 1}`) })),
    ];
    // The last step that reads the filesystem: what follows only changes the config.
    const lastReader = lastIndexOf(steps, ({ instruction }) => readsFilesystem.has(instruction.kind));
    const othersRead = stage.index !== this.plan.target;
    for (const [index, { instruction, stepId }] of steps.entries()) {
      this.options.signal?.throwIfAborted();
      const ctx = this.stepContext(stage, stepId, othersRead || index < lastReader);
      this.announce(ctx, instruction);
      try {
        state = await runInstruction(state, instruction, ctx);
        this.options.signal?.throwIfAborted();
      } catch (caught) {
        // Whatever a step refuses names the line to change, even where the step did not say it.
        const { startLine, endLine } = instruction.range;
        const error = locatedAt(caught, this.plan.file, startLine, endLine);
        ctx.emit({ type: 'step.failed', stepId, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        await Promise.all(ctx.cleanup.map((cleanup) => cleanup()));
      }
    }
    return state;
  }

  private async baseState(stage: StagePlan): Promise<StageState> {
    const ctx = this.stepContext(stage, this.stepId(stage, '0'));
    this.announce(ctx, stage.from);
    const base = stage.base;
    let state: StageState;
    if (base.kind === 'scratch') {
      state = {
        config: scratchConfig(stage.platform),
        layers: [],
        args: new Map(),
        cmdSet: false,
        baseId: 'scratch',
      };
    } else if (base.kind === 'stage') {
      const parent = await this.stageResult(base.index);
      // BuildKit: a stage built FROM another keeps that stage's ARGs (its build env carries over).
      state = {
        ...parent,
        args: new Map(parent.args),
        cmdSet: false,
        baseId: `stage ${base.index}: ${chainIdOf(parent.layers) ?? 'scratch'}`,
      };
    } else {
      const image = await resolveBaseImage(ctx, base.reference, stage.from.range);
      state = {
        config: structuredClone(image.config),
        layers: image.layers,
        args: new Map(),
        cmdSet: false,
        // What the FROM resolved to: a tag that moved on the registry shows as a changed base.
        baseId: image.registryDigest ?? image.manifestDigest,
      };
      state.config.config ??= {};
      state.config.history ??= [];
    }
    ctx.emit({ type: 'step.done', stepId: ctx.stepId, durationMs: 0 });
    return state;
  }

  /** A stage of one platform of a multi-platform build is named with its platform. */
  private isCommon(stage: StagePlan): boolean {
    const signature = this.share?.signatures[stage.index];
    return signature === undefined || this.share?.common.has(signature) === true;
  }

  private stageLabel(stage: StagePlan): string {
    const name = stage.name ?? `stage-${stage.index}`;
    return this.isCommon(stage) ? name : `${this.share?.labelPrefix ?? ''}${name}`;
  }

  private stepId(stage: StagePlan, step: string): string {
    return `${this.isCommon(stage) ? '' : (this.share?.idPrefix ?? '')}${stage.index}.${step}`;
  }

  private announce(ctx: StepContext, instruction: Instruction): void {
    this.steps.number += 1;
    this.history.announce(ctx.stepId, instruction);
    ctx.emit({
      type: 'step.start',
      stepId: ctx.stepId,
      stage: this.stageLabel(ctx.stage),
      index: this.steps.number,
      total: this.steps.total,
      text: instruction.original,
      line: instruction.range.startLine,
    });
  }

  private stepContext(stage: StagePlan, stepId: string, snapshotNeeded = true): StepContext {
    return {
      deps: this.deps,
      options: this.options,
      plan: this.plan,
      stage,
      context: this.context,
      stepId,
      snapshotNeeded,
      cleanup: [],
      tidy: (work) => this.tidy(work),
      noteCacheResult: (result) => this.history.note(stepId, result),
      emit: (event) => this.emit(event),
      stageResult: (index) => this.stageResult(index),
    };
  }
}

/** Steps that read the filesystem of the steps before them (and so need their snapshots). */
const readsFilesystem = new Set<Instruction['kind']>(['run', 'copy', 'add', 'workdir']);

function lastIndexOf<T>(items: T[], matches: (item: T) => boolean): number {
  for (let index = items.length - 1; index >= 0; index--) if (matches(items[index] as T)) return index;
  return -1;
}
