/**
 * `tzbuild check --diff`: the fixes as a unified diff. Fixes change text within lines and never
 * add or remove one, so lines pair up one to one: each run of changed lines becomes a hunk with
 * up to three lines of context, hunks that touch merged.
 */

const context = 3;

/** A unified diff of `before` → `after` for `file` ('' when they are equal). */
export function unifiedDiff(file: string, before: string, after: string): string {
  const old = splitLines(before);
  const now = splitLines(after);
  if (old.length !== now.length) throw new Error('unifiedDiff: a fix added or removed a line');
  const changed = old.flatMap((line, index) => (line === now[index] ? [] : [index]));
  if (changed.length === 0) return '';
  // git's a/ and b/ prefixes, before an absolute path too.
  const name = file.replace(/^\/+/, '');
  let out = `--- a/${name}\n+++ b/${name}\n`;
  for (const [from, to] of hunks(changed, old.length)) {
    const count = to - from;
    out += `@@ -${from + 1},${count} +${from + 1},${count} @@\n`;
    out += hunkBody(old.slice(from, to), now.slice(from, to));
  }
  return out;
}

/** Context lines as they are; each run of changed lines as its old lines, then its new ones. */
function hunkBody(old: string[], now: string[]): string {
  let out = '';
  for (let index = 0; index < old.length; ) {
    if (old[index] === now[index]) {
      out += ` ${old[index]}\n`;
      index++;
      continue;
    }
    let end = index;
    while (end < old.length && old[end] !== now[end]) end++;
    out += old
      .slice(index, end)
      .map((line) => `-${line}\n`)
      .join('');
    out += now
      .slice(index, end)
      .map((line) => `+${line}\n`)
      .join('');
    index = end;
  }
  return out;
}

/** Line ranges `[from, to)` around the changed lines, with context, merged when they touch. */
function hunks(changed: number[], lines: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (const index of changed) {
    const from = Math.max(0, index - context);
    const to = Math.min(lines, index + context + 1);
    const last = ranges.at(-1);
    if (last !== undefined && from <= last[1]) last[1] = to;
    else ranges.push([from, to]);
  }
  return ranges;
}

/** Lines without their `\n` (a final newline does not make an empty last line). */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
