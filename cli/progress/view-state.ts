/**
 * The TUI's view state: a pure reducer `(state, event) → state` over the builder's events, so the
 * screen can be tested (and replayed from a recorded JSON stream) without a terminal. Nothing
 * here imports Ink or React.
 */
import type { BuildEvent, BuildWarning, LayerProgress } from '../../core/ports.js';

/**
 * What a step is doing. `waiting`: announced, not yet checked against the cache (a FROM or
 * COPY --from waiting for its stage, a COPY hashing its sources); `running`: missed the cache and
 * executing; `cancelled`: failed after another step had already failed the build (it was stopped).
 */
export type StepPhase = 'waiting' | 'running' | 'cached' | 'done' | 'failed' | 'cancelled';

/** One step as the screen shows it. */
export interface StepView {
  stepId: string;
  stage: string;
  /** Global position (1-based) and number of steps in the build. */
  index: number;
  total: number;
  text: string;
  line: number;
  phase: StepPhase;
  startedAt: number;
  endedAt?: number;
  /** How long it ran (done) or took to answer from the cache (cached). */
  durationMs?: number;
  layerSize?: number;
  /** For a cache hit: how long the step took when it ran. */
  savedMs?: number;
  missReason?: string;
  /** The failure message (failed, cancelled). */
  message?: string;
  /** Layers of a base image this step pulls (FROM, COPY --from), in the order they were first reported. */
  pulls?: LayerPullView[];
  /** The last `TAIL_LINES` lines of output, each cut to `MAX_LINE` characters. */
  tail: string[];
  outputLines: number;
}

/** One layer being pulled: bytes of total, or already in the store (as the builder reports it). */
export type LayerPullView = LayerProgress;

/** What build.done reported, plus fields a newer builder may add. */
export interface BuildResultView {
  imageId: string;
  tags: string[];
  cached: number;
  ran: number;
  endedAt: number;
  manifestDigest?: string;
  size?: number;
}

export interface ViewState {
  startedAt?: number;
  totalSteps: number;
  stageCount: number;
  /** Stage names in the order they started. */
  stages: string[];
  steps: Readonly<Record<string, StepView>>;
  /** Ids of steps announced but not finished, in start order. */
  active: readonly string[];
  /** Ids of finished steps in the order they finished (append-only: Ink's `<Static>` needs that). */
  finished: readonly string[];
  counts: { finished: number; cached: number; ran: number; savedMs: number };
  /** Time of the latest event: when a build that ended without build.done stopped. */
  lastEventAt?: number;
  /** The step that failed the build (the first failure). */
  failedStep?: string;
  result?: BuildResultView;
  /** Build check findings reported after the build (build.warnings). */
  warnings: readonly BuildWarning[];
}

/** Output lines kept per step: the running pane shows fewer, a failed step shows them all. */
export const TAIL_LINES = 12;
/** Longer lines are cut in the view (the plain sink and the log files keep them whole). */
export const MAX_LINE = 400;

export function initialViewState(): ViewState {
  return {
    totalSteps: 0,
    stageCount: 0,
    stages: [],
    steps: {},
    active: [],
    finished: [],
    counts: { finished: 0, cached: 0, ran: 0, savedMs: 0 },
    warnings: [],
  };
}

/** The next view state after `event`. Never mutates `state`; unknown step ids are ignored. */
export function reduceView(state: ViewState, event: BuildEvent): ViewState {
  const next = applyEvent(state, event);
  return next === state ? state : { ...next, lastEventAt: event.time };
}

function applyEvent(state: ViewState, event: BuildEvent): ViewState {
  switch (event.type) {
    case 'build.start':
      return { ...state, startedAt: event.time, totalSteps: event.steps, stageCount: event.stages };
    case 'stage.start':
      return state.stages.includes(event.stage) ? state : { ...state, stages: [...state.stages, event.stage] };
    case 'step.start':
      return startStep(state, event);
    case 'step.miss': {
      const next = updateStep(state, event.stepId, (step) => ({ ...step, phase: 'running', missReason: event.reason }));
      return next === state ? state : { ...next, counts: { ...next.counts, ran: next.counts.ran + 1 } };
    }
    case 'step.output':
      return updateStep(state, event.stepId, (step) => withOutput(step, event.line));
    case 'step.progress':
      return updateStep(state, event.stepId, (step) => withPull(step, event));
    case 'step.cached':
      return finishStep(state, event.stepId, event.time, (step) => ({
        ...step,
        phase: 'cached',
        savedMs: event.savedMs,
        durationMs: Math.max(0, event.time - step.startedAt),
      }));
    case 'step.done':
      return finishStep(state, event.stepId, event.time, (step) => ({
        ...step,
        phase: 'done',
        durationMs: event.durationMs,
        ...(event.layerSize === undefined ? {} : { layerSize: event.layerSize }),
      }));
    case 'step.failed':
      return failStep(state, event);
    case 'build.done':
      return { ...state, result: resultOf(event) };
    case 'build.warnings':
      return { ...state, warnings: [...state.warnings, ...event.warnings] };
  }
}

/** Replays a whole event list (a recorded `--progress=json` stream, a test fixture). */
export function replayView(events: Iterable<BuildEvent>, state = initialViewState()): ViewState {
  let current = state;
  for (const event of events) current = reduceView(current, event);
  return current;
}

/** The steps still on screen's live part, grouped by stage in stage start order. */
export function activeByStage(state: ViewState): { stage: string; steps: StepView[] }[] {
  const groups = new Map<string, StepView[]>();
  for (const id of state.active) {
    const step = state.steps[id];
    if (step === undefined) continue;
    groups.set(step.stage, [...(groups.get(step.stage) ?? []), step]);
  }
  const order = (stage: string) => state.stages.indexOf(stage);
  return [...groups].sort(([a], [b]) => order(a) - order(b)).map(([stage, steps]) => ({ stage, steps }));
}

type StartEvent = Extract<BuildEvent, { type: 'step.start' }>;

function startStep(state: ViewState, event: StartEvent): ViewState {
  const step: StepView = {
    stepId: event.stepId,
    stage: event.stage,
    index: event.index,
    total: event.total,
    text: event.text,
    line: event.line,
    phase: 'waiting',
    startedAt: event.time,
    tail: [],
    outputLines: 0,
  };
  const stages = state.stages.includes(event.stage) ? state.stages : [...state.stages, event.stage];
  return { ...state, stages, steps: { ...state.steps, [event.stepId]: step }, active: [...state.active, event.stepId] };
}

function updateStep(state: ViewState, stepId: string, change: (step: StepView) => StepView): ViewState {
  const step = state.steps[stepId];
  if (step === undefined) return state;
  return { ...state, steps: { ...state.steps, [stepId]: change(step) } };
}

function withOutput(step: StepView, line: string): StepView {
  const cut = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line;
  const tail = step.tail.length < TAIL_LINES ? [...step.tail, cut] : [...step.tail.slice(1), cut];
  return { ...step, tail, outputLines: step.outputLines + 1 };
}

function withPull(step: StepView, event: Extract<BuildEvent, { type: 'step.progress' }>): StepView {
  const pull: LayerPullView = { digest: event.layer, phase: event.phase, bytes: event.bytes, total: event.total };
  const pulls = step.pulls ?? [];
  const known = pulls.findIndex((entry) => entry.digest === event.layer);
  return { ...step, pulls: known < 0 ? [...pulls, pull] : pulls.map((entry, i) => (i === known ? pull : entry)) };
}

function finishStep(state: ViewState, stepId: string, time: number, change: (step: StepView) => StepView): ViewState {
  const step = state.steps[stepId];
  if (step === undefined || !state.active.includes(stepId)) return state;
  const finished = { ...change(step), endedAt: time };
  const counts = { ...state.counts, finished: state.counts.finished + 1 };
  if (finished.phase === 'cached') {
    counts.cached += 1;
    counts.savedMs += finished.savedMs ?? 0;
  }
  return {
    ...state,
    steps: { ...state.steps, [stepId]: finished },
    active: state.active.filter((id) => id !== stepId),
    finished: [...state.finished, stepId],
    counts,
  };
}

function failStep(state: ViewState, event: Extract<BuildEvent, { type: 'step.failed' }>): ViewState {
  const first = state.failedStep === undefined;
  const next = finishStep(state, event.stepId, event.time, (step) => ({
    ...step,
    phase: first ? 'failed' : 'cancelled',
    message: event.message,
    durationMs: Math.max(0, event.time - step.startedAt),
  }));
  if (next === state) return state;
  return first ? { ...next, failedStep: event.stepId } : next;
}

function resultOf(event: Extract<BuildEvent, { type: 'build.done' }>): BuildResultView {
  // A newer builder may add these to build.done (see docs/progress.md); show them when present.
  const extra = event as { manifestDigest?: unknown; size?: unknown };
  return {
    imageId: event.imageId,
    tags: event.tags,
    cached: event.cached,
    ran: event.ran,
    endedAt: event.time,
    ...(typeof extra.manifestDigest === 'string' ? { manifestDigest: extra.manifestDigest } : {}),
    ...(typeof extra.size === 'number' ? { size: extra.size } : {}),
  };
}
