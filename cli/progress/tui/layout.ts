/**
 * How the TUI's live area fits the terminal. Ink redraws the live area in place, but once it is
 * as tall as the terminal Ink clears the whole screen on every frame, so the live area must stay
 * shorter than the terminal: output panes shrink first, then stages are folded into "+N more".
 *
 * Stages with a step executing are the ones "running side by side": they get a block each (in a
 * row when the terminal is wide enough). Stages only waiting (a FROM or COPY --from waiting for
 * another stage) get one compact line per step below them.
 */
import type { StepView } from '../view-state.js';

/** Output lines shown under each running step when there is room. */
export const PANE_LINES = 6;
/** Narrowest column a stage gets when stages are shown side by side. */
const MIN_STAGE_WIDTH = 48;

export interface StageGroup {
  stage: string;
  steps: StepView[];
}

export interface LiveLayout {
  /** Running stages side by side (`row`) or stacked (`column`). */
  direction: 'row' | 'column';
  /** Output lines under each running step. */
  paneLines: number;
  /** Stages with a running step, shown as blocks. */
  running: StageGroup[];
  /** Steps of stages that only wait, one line each. */
  waiting: StepView[];
  /** Stages not shown for lack of room. */
  hidden: number;
}

/** Lines a running stage block takes: its title, one per step, a pane under each running step. */
export function groupHeight(group: StageGroup, paneLines: number): number {
  const panes = group.steps.filter((step) => step.phase === 'running' && step.outputLines > 0).length;
  return 1 + group.steps.length + panes * paneLines;
}

/**
 * Picks the layout for `groups` in a terminal of `rows` × `columns`, keeping `reserved` lines
 * (header, footer) free.
 */
export function layoutLive(groups: StageGroup[], rows: number, columns: number, reserved = 3): LiveLayout {
  const budget = Math.max(1, rows - reserved);
  const running = groups.filter((group) => group.steps.some((step) => step.phase === 'running'));
  const waiting = groups.filter((group) => !running.includes(group)).flatMap((group) => group.steps);
  const direction = running.length > 1 && columns / running.length >= MIN_STAGE_WIDTH ? 'row' : 'column';
  const blocksHeight = (shown: StageGroup[], pane: number) =>
    direction === 'row'
      ? Math.max(0, ...shown.map((group) => groupHeight(group, pane)))
      : shown.reduce((sum, group) => sum + groupHeight(group, pane), 0);
  for (let pane = PANE_LINES; pane >= 0; pane--) {
    if (blocksHeight(running, pane) + waiting.length <= budget)
      return { direction, paneLines: pane, running, waiting, hidden: 0 };
  }
  // Even without panes it does not fit: keep one line for "+N more", then running stages first.
  const shownRunning: StageGroup[] = [];
  for (const group of running) {
    if (blocksHeight([...shownRunning, group], 0) > budget - 1) break;
    shownRunning.push(group);
  }
  const room = Math.max(0, budget - 1 - blocksHeight(shownRunning, 0));
  const shownWaiting = shownRunning.length === running.length ? waiting.slice(0, room) : [];
  const hiddenStages = new Set([
    ...running.filter((group) => !shownRunning.includes(group)).map((group) => group.stage),
    ...waiting.slice(shownWaiting.length).map((step) => step.stage),
  ]);
  return { direction, paneLines: 0, running: shownRunning, waiting: shownWaiting, hidden: hiddenStages.size };
}
