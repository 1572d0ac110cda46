/**
 * The TUI's final frame without Ink: finished steps and the summary as styled text. A build that
 * ends before the live display is worth drawing (a cached rebuild) prints this and never loads
 * Ink or React, so the TUI costs such a build nothing.
 */
import type { StepView, ViewState } from './view-state.js';
import { FAILED_TAIL, finishedLineParts, summaryLines, STATUS_WIDTH, type Color } from './tui/text.js';

const ansi: Record<Color | 'bold' | 'dim', string> = {
  green: '32',
  blue: '34',
  red: '31',
  yellow: '33',
  white: '37',
  cyan: '36',
  bold: '1',
  dim: '2',
};

function style(text: string, ...codes: (keyof typeof ansi | undefined)[]): string {
  const sgr = codes
    .filter((code) => code !== undefined)
    .map((code) => ansi[code!])
    .join(';');
  return sgr === '' || text === '' ? text : `\u001b[${sgr}m${text}\u001b[0m`;
}

/**
 * A finished step: text in its column (wrapped when long, as the Ink view does), status on the right of the first line.
 */
function finishedStep(step: StepView, width: number, logPath: string | undefined): string {
  const parts = finishedLineParts(step, width);
  const room = Math.max(10, parts.room);
  const chunks = parts.text.match(new RegExp(`[^]{1,${room}}`, 'g')) ?? [''];
  const indent = ' '.repeat(parts.left.length + parts.label.length);
  const first =
    parts.status === ''
      ? chunks[0]!.trimEnd()
      : `${chunks[0]!.padEnd(room + 1)}${style(parts.status.padStart(STATUS_WIDTH), parts.color)}`;
  let out = `${style(parts.left, parts.color)}${style(parts.label, 'dim')}${first}\n`;
  for (const chunk of chunks.slice(1)) out += `${indent}${chunk}\n`;
  if (step.phase === 'failed') {
    for (const line of step.tail.slice(-FAILED_TAIL)) out += `    │ ${line}\n`;
    if (logPath !== undefined) out += `    ${style(`full output: ${logPath}`, 'dim')}\n`;
  }
  return out;
}

/** Every finished step, then the summary, as the Ink view's last frame shows them. */
export function renderStaticFrame(
  state: ViewState,
  columns: number,
  now: number,
  logPathOf?: (stepId: string) => string | undefined,
): string {
  let out = '';
  for (const id of state.finished) {
    const step = state.steps[id];
    if (step !== undefined) out += finishedStep(step, columns, logPathOf?.(id));
  }
  for (const line of summaryLines(state, now, logPathOf))
    out += `${style(line.text, line.color, line.bold ? 'bold' : undefined)}\n`;
  return out;
}
