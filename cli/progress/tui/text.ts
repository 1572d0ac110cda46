/**
 * The words and columns of the TUI's finished lines and summary, as plain data: the Ink view
 * (app.tsx) and the Ink-free final frame (static-frame.ts) draw the same thing from these.
 */
import { formatBytes, formatDuration } from '../../format.js';
import type { StepView, ViewState } from '../view-state.js';
import { warningLines } from '../warnings.js';

/** Width of the status column (`CACHED (saved 12.3s)`), so statuses line up. */
export const STATUS_WIDTH = 21;
/** Output lines of a failed step kept on screen (all the view state holds). */
export const FAILED_TAIL = 12;

export type Color = 'green' | 'blue' | 'red' | 'yellow' | 'white' | 'cyan';

export const FINISHED_LOOK: Record<string, { icon: string; color: Color }> = {
  done: { icon: '✔', color: 'green' },
  cached: { icon: '≡', color: 'blue' },
  failed: { icon: '✘', color: 'red' },
  cancelled: { icon: '⊘', color: 'yellow' },
};

export function lookOf(step: StepView): { icon: string; color: Color } {
  return FINISHED_LOOK[step.phase] ?? { icon: '·', color: 'white' };
}

export function finishedStatus(step: StepView): string {
  switch (step.phase) {
    case 'cached':
      return `CACHED${step.savedMs ? ` (saved ${formatDuration(step.savedMs)})` : ''}`;
    case 'failed':
      return `FAILED after ${seconds(step.durationMs ?? 0)}`;
    case 'cancelled':
      return 'cancelled';
    default: {
      // FROM steps report 0 ms: the base was ready, nothing to time.
      if (!step.durationMs && step.layerSize === undefined) return '';
      const size = step.layerSize === undefined ? '' : `  ${formatBytes(step.layerSize)}`;
      return `${formatDuration(step.durationMs ?? 0)}${size}`;
    }
  }
}

/** The pieces of a finished step's line; `room` < text length means it must wrap. */
export function finishedLineParts(step: StepView, width: number) {
  const { icon, color } = lookOf(step);
  const left = ` ${icon} `;
  const label = `#${step.index} [${step.stage}] `;
  const room = width - left.length - label.length - 1 - STATUS_WIDTH;
  return { left, label, color, room, text: step.text, status: finishedStatus(step) };
}

/** Elapsed time with a steady width below a minute: `0.4s`, `12.3s`, then `1m05s`. */
export function seconds(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 60_000) return `${(clamped / 1000).toFixed(1)}s`;
  return `${Math.floor(clamped / 60_000)}m${String(Math.floor((clamped % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** One line of the summary. */
export interface SummaryLine {
  text: string;
  color?: Color;
  bold?: boolean;
}

/**
 * The summary under the finished steps: built, failed, or ended without an image (dry run), then
 * the build check findings, if any.
 */
export function summaryLines(
  state: ViewState,
  now: number,
  logPathOf?: (stepId: string) => string | undefined,
): SummaryLine[] {
  return [...outcomeLines(state, now, logPathOf), ...checkLines(state)];
}

/** `⚠ 2 warnings from the build checks …` and the first few, in yellow. */
function checkLines(state: ViewState): SummaryLine[] {
  return warningLines(state.warnings).map((line, index) =>
    index === 0 ? { text: ` ⚠ ${line}`, color: 'yellow', bold: true } : { text: `  ${line}`, color: 'yellow' },
  );
}

function outcomeLines(
  state: ViewState,
  now: number,
  logPathOf: ((stepId: string) => string | undefined) | undefined,
): SummaryLine[] {
  const result = state.result;
  const took = seconds((result?.endedAt ?? state.lastEventAt ?? now) - (state.startedAt ?? now));
  if (result === undefined && state.failedStep === undefined) {
    const { finished, cached, ran } = state.counts;
    const counts = [`${finished}/${state.totalSteps} steps`, `${cached} cached`, `${ran} not cached`, took];
    return [{ text: ` ■ ended without an image: ${counts.join(' · ')}`, bold: true }];
  }
  if (result === undefined) {
    const failed = state.failedStep === undefined ? undefined : state.steps[state.failedStep];
    const where = failed === undefined ? '' : ` at #${failed.index} [${failed.stage}] ${failed.text}`;
    const logPath = failed === undefined ? undefined : logPathOf?.(failed.stepId);
    const counts = [
      `${state.counts.finished}/${state.totalSteps} steps finished`,
      `${state.counts.cached} cached`,
      took,
    ];
    return [
      { text: ` ✘ build failed${where}`, color: 'red', bold: true },
      { text: `   ${counts.join(' · ')}` },
      ...(logPath === undefined ? [] : [{ text: `   full output: ${logPath}` }]),
    ];
  }
  const saved = state.counts.savedMs > 0 ? ` · cache saved ${formatDuration(state.counts.savedMs)}` : '';
  const rows: [string, string | undefined][] = [
    ['image', result.imageId],
    ['manifest', result.manifestDigest],
    ['size', result.size === undefined ? undefined : formatBytes(result.size)],
    ['tags', result.tags.length === 0 ? undefined : result.tags.join(', ')],
  ];
  return [
    { text: ` ✔ built in ${took}: ${result.cached} cached, ${result.ran} run${saved}`, color: 'green', bold: true },
    ...rows.flatMap(([name, value]) => (value === undefined ? [] : [{ text: `   ${name.padEnd(9)}${value}` }])),
  ];
}
