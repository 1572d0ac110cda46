/**
 * Go's `filepath.Match` on Linux: `*` (any run without `/`), `?` (one character but `/`),
 * `[...]` classes (`^` negates, `a-z` ranges, `\` escapes), `\` escapes outside classes too.
 * Docker uses it for COPY wildcards and to reject bad .dockerignore patterns, so both use this.
 */

/** A malformed pattern (unclosed `[`, a class starting with `-` or `]`, a trailing `\`). */
export class GlobSyntaxError extends Error {
  constructor(readonly pattern: string) {
    super(`syntax error in pattern: ${pattern}`);
  }
}

/** Splits off the next chunk: leading stars, then text up to the next `*` outside a class. */
function scanChunk(pattern: string[], start: number): { star: boolean; chunk: string[]; next: number } {
  let i = start;
  let star = false;
  while (pattern[i] === '*') {
    star = true;
    i++;
  }
  const from = i;
  let inClass = false;
  for (; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      if (i + 1 < pattern.length) i++;
    } else if (ch === '[') inClass = true;
    else if (ch === ']') inClass = false;
    else if (ch === '*' && !inClass) break;
  }
  return { star, chunk: pattern.slice(from, i), next: i };
}

/** Reads one class character (maybe escaped) at `i`; Go forbids an unescaped `-` or `]` here. */
function classChar(chunk: string[], i: number, fail: () => never): { ch: string; next: number } {
  let at = i;
  if (at >= chunk.length || chunk[at] === '-' || chunk[at] === ']') fail();
  if (chunk[at] === '\\') at++;
  // Go also requires something after the character: the class must still be closed.
  if (at + 1 >= chunk.length) fail();
  return { ch: chunk[at] as string, next: at + 1 };
}

/** Matches a `[...]` class at `chunk[i]` (just after `[`) against `ch`; returns where it ends. */
function matchClass(
  chunk: string[],
  i: number,
  ch: string | undefined,
  fail: () => never,
): { matched: boolean; next: number } {
  let at = i;
  const negated = chunk[at] === '^';
  if (negated) at++;
  const code = ch?.codePointAt(0) ?? -1;
  let inRange = false;
  for (let ranges = 0; ; ranges++) {
    if (chunk[at] === ']' && ranges > 0) return { matched: inRange !== negated, next: at + 1 };
    const lo = classChar(chunk, at, fail);
    let hi = lo;
    if (chunk[lo.next] === '-') hi = classChar(chunk, lo.next + 1, fail);
    at = hi.next;
    if ((lo.ch.codePointAt(0) as number) <= code && code <= (hi.ch.codePointAt(0) as number)) inRange = true;
  }
}

/**
 * Matches one chunk at the start of `name[from..]`; returns the index after it, or -1. The whole
 * chunk is always scanned, so syntax errors surface even after a mismatch (as in Go).
 */
function matchChunk(chunk: string[], name: string[], from: number, fail: () => never): number {
  let pos = from;
  let failed = false;
  for (let i = 0; i < chunk.length; ) {
    if (pos >= name.length) failed = true;
    const token = chunk[i];
    if (token === '[') {
      const result = matchClass(chunk, i + 1, failed ? undefined : name[pos], fail);
      if (!failed && (!result.matched || name[pos] === undefined)) failed = true;
      pos++;
      i = result.next;
      continue;
    }
    if (token === '?') {
      if (!failed && name[pos] === '/') failed = true;
      pos++;
      i++;
      continue;
    }
    if (token === '\\') {
      i++;
      if (i >= chunk.length) fail();
    }
    if (!failed && chunk[i] !== name[pos]) failed = true;
    pos++;
    i++;
  }
  return failed ? -1 : pos;
}

/** Checks every remaining chunk for syntax errors (Go does this before answering false). */
function checkRest(pattern: string[], start: number, fail: () => never): void {
  for (let at = start; at < pattern.length; ) {
    const { chunk, next } = scanChunk(pattern, at);
    matchChunk(chunk, [], 0, fail);
    at = next;
  }
}

function tryStar(chunk: string[], name: string[], pos: number, last: boolean, fail: () => never): number {
  for (let skip = pos; skip < name.length && name[skip] !== '/'; skip++) {
    const end = matchChunk(chunk, name, skip + 1, fail);
    if (end >= 0 && (!last || end === name.length)) return end;
  }
  return -1;
}

/**
 * Go's `filepath.Match(pattern, name)`.
 * @throws GlobSyntaxError when the pattern is malformed.
 */
export function globMatch(pattern: string, name: string): boolean {
  const pat = Array.from(pattern);
  const str = Array.from(name);
  const fail = (): never => {
    throw new GlobSyntaxError(pattern);
  };
  let pos = 0;
  for (let at = 0; at < pat.length; ) {
    const { star, chunk, next } = scanChunk(pat, at);
    at = next;
    const last = at >= pat.length;
    // A trailing `*` takes the rest of the name unless it has a `/`.
    if (star && chunk.length === 0) return !str.slice(pos).includes('/');
    let end = matchChunk(chunk, str, pos, fail);
    if (end >= 0 && last && end !== str.length) end = -1;
    if (end < 0 && star) end = tryStar(chunk, str, pos, last, fail);
    if (end < 0) {
      checkRest(pat, at, fail);
      return false;
    }
    pos = end;
  }
  return pos === str.length;
}

/** Throws GlobSyntaxError when `pattern` is malformed (what Docker checks with `Match(p, ".")`). */
export function validateGlob(pattern: string): void {
  globMatch(pattern, '.');
}

/** True when `pattern` has an unescaped `*`, `?` or `[`, so COPY must expand it. */
export function hasWildcard(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}
