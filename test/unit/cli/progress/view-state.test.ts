import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../../core/ports.js';
import {
  activeByStage,
  initialViewState,
  reduceView,
  replayView,
  TAIL_LINES,
  type ViewState,
} from '../../../../cli/progress/view-state.js';
import { deepFreeze, prefix, recorded } from './events.js';

/** Replays with every intermediate state frozen: a reducer that mutates its input throws. */
function replayFrozen(events: BuildEvent[]): ViewState {
  return events.reduce((state, event) => deepFreeze(reduceView(state, event)), deepFreeze(initialViewState()));
}

describe('view state reducer on a recorded cold multi-stage build', () => {
  const events = recorded('multistage-cold');
  const state = replayFrozen(events);

  it('knows every stage and step, all finished, none active', () => {
    expect(state.stages).toEqual(['build', 'lint', 'stage-2']);
    expect(state.totalSteps).toBe(12);
    expect(Object.keys(state.steps)).toHaveLength(12);
    expect(state.active).toEqual([]);
    expect(state.finished).toHaveLength(12);
    expect(state.counts).toEqual({ finished: 12, cached: 0, ran: 9, savedMs: 0 });
  });

  it('lists finished steps in the order they finished (the order <Static> prints them)', () => {
    const doneOrder = events
      .filter((event) => event.type === 'step.done')
      .map((event) => (event as { stepId: string }).stepId);
    expect(state.finished).toEqual(doneOrder);
  });

  it('keeps durations, layer sizes and the output tail of each step', () => {
    expect(state.steps['0.1']).toMatchObject({
      phase: 'done',
      durationMs: 306,
      layerSize: 1536,
      text: 'WORKDIR /src',
      line: 2,
    });
    expect(state.steps['0.3']!.tail).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `compiling part ${n}`));
    expect(state.steps['1.2']!.tail).toEqual(['checking', 'lint ok']);
    expect(state.steps['0.0']).toMatchObject({ phase: 'done', durationMs: 0 });
  });

  it('records the build result', () => {
    expect(state.result).toMatchObject({
      imageId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      tags: ['demo:1'],
      cached: 0,
      ran: 9,
    });
  });
});

describe('view state mid-build', () => {
  const events = recorded('multistage-cold');

  it('shows independent stages active at the same time, grouped by stage in start order', () => {
    // When the lint RUN printed its first line, build's RUN is running and stage-2 waits on build.
    const state = replayView(prefix(events, (event) => event.type === 'step.output' && event.stepId === '1.2'));
    const groups = activeByStage(state);
    expect(groups.map((group) => group.stage)).toEqual(['build', 'lint', 'stage-2']);
    expect(groups.map((group) => group.steps.map((step) => [step.stepId, step.phase]))).toEqual([
      [['0.3', 'running']],
      [['1.2', 'running']],
      [['2.1', 'waiting']],
    ]);
    expect(state.counts.finished).toBe(6); // three FROMs, WORKDIR, both COPY src
  });

  it('moves a step from waiting to running on its cache miss', () => {
    const announced = replayView(prefix(events, (event) => event.type === 'step.start' && event.stepId === '0.3'));
    expect(announced.steps['0.3']!.phase).toBe('waiting');
    const missed = replayView(prefix(events, (event) => event.type === 'step.miss' && event.stepId === '0.3'));
    expect(missed.steps['0.3']).toMatchObject({ phase: 'running', missReason: 'no earlier build of this step' });
  });
});

describe('view state on a cached rebuild', () => {
  const state = replayView(recorded('multistage-warm'));

  it('counts cache hits and sums the time they saved', () => {
    const cold = replayView(recorded('multistage-cold'));
    const ranMs = Object.values(cold.steps)
      .filter((step) => !step.stepId.endsWith('.0'))
      .reduce((sum, step) => sum + (step.durationMs ?? 0), 0);
    expect(state.counts).toMatchObject({ cached: 9, ran: 0, finished: 12 });
    expect(state.counts.savedMs).toBe(ranMs);
    expect(Object.values(state.steps).filter((step) => step.phase === 'cached')).toHaveLength(9);
  });
});

describe('view state on a failed build', () => {
  const state = replayView(recorded('multistage-failed'));

  it('marks the first failure failed and what it stopped cancelled', () => {
    expect(state.failedStep).toBe('1.2');
    expect(state.steps['1.2']).toMatchObject({
      phase: 'failed',
      tail: ['running tests', 'test 1 ok', 'test 2 FAILED: expected 3, got 4'],
    });
    expect(state.steps['1.2']!.message).toContain('exit code: 3');
    expect(state.steps['0.2']!.phase).toBe('cancelled');
    expect(state.steps['2.1']!.phase).toBe('cancelled');
    expect(state.result).toBeUndefined();
    expect(state.active).toEqual([]);
  });
});

describe('view state edge cases', () => {
  const start = (stepId: string): BuildEvent => ({
    type: 'step.start',
    time: 1000,
    stepId,
    stage: 's',
    index: 1,
    total: 1,
    text: 'RUN x',
    line: 1,
  });

  it('keeps only the last TAIL_LINES output lines and cuts very long ones', () => {
    let state = reduceView(initialViewState(), start('0.1'));
    for (let n = 1; n <= 100; n++)
      state = reduceView(state, {
        type: 'step.output',
        time: 1000 + n,
        stepId: '0.1',
        stream: 'stdout',
        line: `line ${n}`,
      });
    state = reduceView(state, {
      type: 'step.output',
      time: 2000,
      stepId: '0.1',
      stream: 'stdout',
      line: 'x'.repeat(10_000),
    });
    const step = state.steps['0.1']!;
    expect(step.outputLines).toBe(101);
    expect(step.tail).toHaveLength(TAIL_LINES);
    expect(step.tail[0]).toBe(`line ${101 - TAIL_LINES + 1}`);
    expect(step.tail.at(-1)!.length).toBeLessThan(1000);
  });

  it('ignores events for unknown steps and a second end of the same step', () => {
    const initial = initialViewState();
    expect(reduceView(initial, { type: 'step.done', time: 1, stepId: 'nope', durationMs: 1 })).toBe(initial);
    const done = reduceView(reduceView(initial, start('0.1')), {
      type: 'step.done',
      time: 5,
      stepId: '0.1',
      durationMs: 4,
    });
    expect(reduceView(done, { type: 'step.failed', time: 6, stepId: '0.1', message: 'late' })).toBe(done);
  });

  it('takes manifestDigest and size from build.done when a builder reports them', () => {
    const event = {
      type: 'build.done',
      time: 9,
      imageId: 'sha256:aa',
      tags: [],
      cached: 0,
      ran: 0,
      manifestDigest: 'sha256:bb',
      size: 1234,
    } as BuildEvent;
    expect(reduceView(initialViewState(), event).result).toMatchObject({ manifestDigest: 'sha256:bb', size: 1234 });
  });
});
