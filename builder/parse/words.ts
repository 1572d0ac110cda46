/**
 * Word splitting as BuildKit's line parsers do it, before any variable expansion: the words keep
 * their quotes and escapes, only the splitting points are decided here.
 */
import { isGoSpace, trimLeftGo } from './text.js';

/**
 * Splits ENV/LABEL/ARG arguments on unquoted whitespace. Quotes and escape tokens stay in the
 * words (`a="b c"` is one word, still quoted); an escape token at the very end is dropped.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos < chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (quote !== '') {
      if (ch === quote) quote = '';
      // Inside single quotes the escape token escapes nothing.
      else if (ch === escapeToken && quote !== "'") {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos] ?? '';
      }
      word += ch;
      continue;
    }
    if (isGoSpace(ch)) {
      if (inWord && (blankOk || word.length > 0)) words.push(word);
      inWord = false;
      word = '';
      blankOk = false;
      continue;
    }
    inWord = true;
    if (ch === "'" || ch === '"') {
      quote = ch;
      blankOk = true;
    } else if (ch === escapeToken) {
      if (pos + 1 === chars.length) continue;
      word += ch;
      ch = chars[++pos] ?? '';
    }
    word += ch;
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}

/** Flags taken off the front of an instruction's arguments, and what remains. */
export interface FlagSplit {
  flags: string[];
  rest: string;
}

/**
 * Takes the leading `--name[=value]` words off an argument string. Quotes inside a flag word are
 * removed and a backslash escapes the next character (always backslash: BuildKit hard-codes it
 * here, whatever `# escape=` says). A lone `--` ends the flags and is dropped.
 */
export function extractFlags(line: string): FlagSplit {
  const chars = Array.from(line);
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < chars.length && isGoSpace(chars[pos] ?? '')) pos++;
    if (pos >= chars.length) return { flags, rest: '' };
    if (chars[pos] !== '-' || chars[pos + 1] !== '-') return { flags, rest: chars.slice(pos).join('') };
    const { word, end, blankOk } = readFlagWord(chars, pos);
    if (word === '--') return { flags, rest: chars.slice(end).join('') };
    if (blankOk || word.length > 0) flags.push(word);
    pos = end;
  }
}

function readFlagWord(chars: string[], start: number): { word: string; end: number; blankOk: boolean } {
  let word = '';
  let quote = '';
  let blankOk = false;
  let pos = start;
  for (; pos < chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (quote === '' && isGoSpace(ch)) break;
    if (quote === '' && (ch === "'" || ch === '"')) {
      quote = ch;
      blankOk = true;
      continue;
    }
    if (quote !== '' && ch === quote) {
      quote = '';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === chars.length) {
        quote = '';
        continue;
      }
      ch = chars[++pos] ?? '';
    }
    word += ch;
  }
  return { word, end: pos, blankOk };
}

/** Thrown for `["a", 1]`: unlike other bad JSON, this is an error and not a shell-form fallback. */
export const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/**
 * Reads an exec-form JSON array. Returns undefined when the text is not a valid JSON array (the
 * caller falls back to shell form); throws {@link NOT_STRING_ARRAY} when it holds a non-string.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const trimmed = trimLeftGo(rest);
  if (!trimmed.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((item): item is string => typeof item === 'string')) throw new Error(NOT_STRING_ARRAY);
  return value;
}
