/** The Dockerfile lines an error belongs to, marked, as BuildKit prints them under an error. */
import type { SourceLocation } from '../core/errors.js';

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
    const marker = number >= first && number <= last ? '>>>' : '   ';
    body.push(` ${String(number).padStart(width)} | ${marker} ${lines[number - 1]}\n`);
  }
  return `${rule}${body.join('')}${rule}`;
}
