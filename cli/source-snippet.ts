/** The Dockerfile lines an error belongs to, marked, as BuildKit prints them under an error. */
import type { SourceLocation } from '../core/errors.js';

/** Marked lines shown at each end of a long range (a RUN continued over thousands of lines). */
const RANGE_ENDS = 3;
/** Characters shown of one line (a Dockerfile line may hold 64 KiB). */
const MAX_LINE_CHARS = 160;

/** A few lines around `location` with the failing ones marked `>>>`; '' when it does not apply. */
export function sourceSnippet(
  dockerfile: { text: string; name: string },
  location: SourceLocation | undefined,
): string {
  if (location === undefined || location.file !== dockerfile.name) return '';
  const lines = dockerfile.text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = location.line;
  const last = Math.max(location.endLine ?? first, first);
  if (first < 1 || first > lines.length) return '';
  const from = Math.max(1, first - 2);
  const to = Math.min(lines.length, last + 1);
  const width = String(to).length;
  const rule = ` ${'-'.repeat(20)}\n`;
  const body = [];
  for (let number = from; number <= to; number++) {
    const inRange = number >= first && number <= last;
    if (inRange && number === first + RANGE_ENDS && last - first + 1 > 2 * RANGE_ENDS + 1) {
      // The middle of a long range is left out, said so on one line.
      const skipped = last - RANGE_ENDS - number + 1;
      body.push(` ${' '.repeat(width)} | >>> … ${skipped} more lines\n`);
      number = last - RANGE_ENDS;
      continue;
    }
    const marker = inRange ? '>>>' : '   ';
    body.push(` ${String(number).padStart(width)} | ${marker} ${shortened(lines[number - 1] ?? '')}\n`);
  }
  return `${rule}${body.join('')}${rule}`;
}

function shortened(line: string): string {
  return line.length <= MAX_LINE_CHARS ? line : `${line.slice(0, MAX_LINE_CHARS)}…`;
}
