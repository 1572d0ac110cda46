/**
 * The glob patterns of `${VAR#p}`, `${VAR%p}` and `${VAR/p/r}`, matched the way BuildKit does:
 * the pattern becomes a backtracking regular expression (`*` any run, `?` one character, `\`
 * escapes `*`, `?` and `\`; no bracket classes), so shortest/longest and leftmost choices agree
 * with BuildKit's Go regexps, whose preference order JS regexps share.
 */
import { LexError } from './errors.js';

/** Characters that mean something to a JS regexp in unicode mode. */
const REGEX_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);
/** Go's `.` does not match a newline; neither does `*`/`?` here. */
const ANY_CHAR = '[^\\n]';

function invalid(pattern: string, why: string): LexError {
  return new LexError(`invalid pattern (${pattern}) in substitution: ${why}`);
}

/** Compiles a shell glob into a RegExp; `greedy` picks the longest `*`, `anchored` pins it to the start. */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, flags = 'u'): RegExp {
  const chars = Array.from(pattern);
  let source = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') source += greedy ? `${ANY_CHAR}*` : `${ANY_CHAR}*?`;
    else if (ch === '?') source += ANY_CHAR;
    else if (ch === '\\') {
      const next = chars[i + 1];
      // `\}` and `\/` only protect the ${} syntax; the backslash is not part of the pattern.
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== '\\') throw invalid(pattern, `invalid escape '\\${next ?? ''}'`);
      source += `\\${next}`;
      i++;
    } else source += REGEX_SYNTAX.has(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(source, flags);
}

/** `${VAR#p}` / `${VAR##p}`: removes the shortest (or longest) prefix matching `pattern`. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const match = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return match === null ? value : value.slice(match[0].length);
}

/** Reverses a pattern while keeping each `\x` escape pair in order. */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const units: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i < chars.length - 1) {
      units.push(`\\${chars[i + 1]}`);
      i++;
    } else units.push(chars[i] as string);
  }
  return units.reverse().join('');
}

function reverseString(text: string): string {
  return Array.from(text).reverse().join('');
}

/**
 * `${VAR%p}` / `${VAR%%p}`: removes the shortest (or longest) suffix matching `pattern`. A regexp
 * cannot find the shortest rightmost match, so both sides are reversed and the prefix rule used.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

function codePointWidth(text: string, index: number): number {
  const code = text.codePointAt(index);
  return code !== undefined && code > 0xffff ? 2 : 1;
}

/**
 * Replaces every match like Go's `ReplaceAllString` (an empty match right after a previous match
 * is skipped, which JS's own `replace` does not do). The replacement is literal.
 */
function replaceEvery(value: string, regex: RegExp, replacement: string): string {
  let out = '';
  let copied = 0;
  let searchFrom = 0;
  let lastEnd = -1;
  while (searchFrom <= value.length) {
    regex.lastIndex = searchFrom;
    const match = regex.exec(value);
    if (match === null) break;
    const start = match.index;
    const end = start + match[0].length;
    if (end > start || start !== lastEnd) {
      out += value.slice(copied, start) + replacement;
      copied = end;
      lastEnd = end;
    }
    searchFrom = end > start ? end : start + codePointWidth(value, start);
  }
  return out + value.slice(copied);
}

/** `${VAR/p/r}` (first match) and `${VAR//p/r}` (every match); longest `*`, leftmost start. */
export function replacePattern(value: string, pattern: string, replacement: string, all: boolean): string {
  if (!all) {
    const match = shellPatternToRegExp(pattern, true, false).exec(value);
    if (match === null) return value;
    return value.slice(0, match.index) + replacement + value.slice(match.index + match[0].length);
  }
  return replaceEvery(value, shellPatternToRegExp(pattern, true, false, 'gu'), replacement);
}
