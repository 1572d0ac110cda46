import { describe, expect, it } from 'vitest';
import { groupHeight, layoutLive, PANE_LINES, type StageGroup } from '../../../../../cli/progress/tui/layout.js';
import type { StepView } from '../../../../../cli/progress/view-state.js';

function group(stage: string, phase: StepView['phase'] = 'running', outputLines = 50): StageGroup {
  const step: StepView = {
    stepId: `${stage}.1`,
    stage,
    index: 1,
    total: 9,
    text: 'RUN x',
    line: 1,
    phase,
    startedAt: 0,
    tail: [],
    outputLines,
  };
  return { stage, steps: [step] };
}

describe('live area layout', () => {
  it('puts stages side by side when each gets at least 48 columns, else stacks them', () => {
    expect(layoutLive([group('a'), group('b')], 40, 120).direction).toBe('row');
    expect(layoutLive([group('a'), group('b'), group('c')], 40, 120).direction).toBe('column');
    // A stage that only waits does not take a column: it gets a line below.
    expect(layoutLive([group('a'), group('b'), group('c', 'waiting')], 40, 120)).toMatchObject({
      direction: 'row',
      waiting: [{ stage: 'c' }],
    });
    expect(layoutLive([group('a')], 40, 200).direction).toBe('column');
  });

  it('gives running steps full panes when the terminal is tall enough', () => {
    const layout = layoutLive([group('a'), group('b'), group('c')], 40, 80);
    expect(layout).toMatchObject({ paneLines: PANE_LINES, hidden: 0 });
    expect(layout.running).toHaveLength(3);
  });

  it('shrinks panes before hiding stages, and never outgrows the terminal', () => {
    const groups = [group('a'), group('b'), group('c')];
    for (const rows of [30, 20, 12, 8, 5]) {
      const layout = layoutLive(groups, rows, 80);
      const used =
        layout.running.reduce((sum, shown) => sum + groupHeight(shown, layout.paneLines), 0) +
        layout.waiting.length +
        (layout.hidden > 0 ? 1 : 0);
      expect(used, `rows=${rows}`).toBeLessThanOrEqual(rows - 3);
    }
    expect(layoutLive(groups, 20, 80).paneLines).toBe(3);
    expect(layoutLive(groups, 8, 80)).toMatchObject({ paneLines: 0, hidden: 1 });
  });

  it('folds waiting stages first when even panes of 0 lines do not fit', () => {
    const layout = layoutLive([group('a'), group('b', 'waiting'), group('c', 'waiting'), group('d', 'waiting')], 7, 80);
    expect(layout).toMatchObject({ paneLines: 0, hidden: 2 });
    expect(layout.running.map((shown) => shown.stage)).toEqual(['a']);
    expect(layout.waiting.map((step) => step.stage)).toEqual(['b']);
  });

  it('gives silent steps no pane', () => {
    expect(groupHeight(group('a', 'running', 0), 6)).toBe(2);
    expect(groupHeight(group('a', 'running', 3), 6)).toBe(8);
    expect(layoutLive([group('a', 'waiting'), group('b')], 40, 80).running.map((shown) => shown.stage)).toEqual(['b']);
  });
});
