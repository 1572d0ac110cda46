/**
 * Heredoc openers (`<<EOF`, `<<-'EOF'`, `3<<EOF`) as BuildKit recognises them in RUN/COPY/ADD.
 * The bodies themselves are read by the scanner; this module only decides names and modes.
 */
import type { Heredoc } from '../instructions.js';
import { isGoSpace } from './text.js';

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/s;
const BARE_OPERATOR = /^\d*<<-?$/;

/** A shell word split off a line, quotes and escapes kept as written. */
interface ShellWords {
  words: string[];
  /** True when some quote pair was used (not just escaped quote characters). */
  quoted: boolean;
}

/**
 * Splits text on unquoted whitespace like a POSIX shell, with backslash as escape. With `raw` the
 * words keep their quotes and escapes; otherwise they are removed. Throws on an open quote.
 */
function shellWords(text: string, raw: boolean): ShellWords {
  const chars = Array.from(text);
  const words: string[] = [];
  let word: string | undefined;
  let quoted = false;
  for (let pos = 0; pos < chars.length; pos++) {
    const ch = chars[pos] ?? '';
    if (isGoSpace(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    word ??= '';
    if (ch === '\\') {
      const next = chars[++pos];
      if (next !== undefined) word += raw ? ch + next : next;
    } else if (ch === "'" || ch === '"') {
      const close = closingQuote(chars, pos, ch);
      const inner = chars.slice(pos + 1, close).join('');
      word += raw ? ch + inner + ch : ch === '"' ? inner.replace(/\\(["\\$`])/g, '$1') : inner;
      quoted = true;
      pos = close;
    } else {
      word += ch;
    }
  }
  if (word !== undefined) words.push(word);
  return { words, quoted };
}

function closingQuote(chars: string[], open: number, quote: string): number {
  for (let pos = open + 1; pos < chars.length; pos++) {
    if (quote === '"' && chars[pos] === '\\') pos++;
    else if (chars[pos] === quote) return pos;
  }
  const kind = quote === "'" ? 'single-quote' : 'double-quote';
  throw new Error(`unexpected end of statement while looking for matching ${kind}`);
}

/**
 * Parses one word as a heredoc opener (`<<EOF`, `<<-"EOF"`, `3<<EOF`, `<< EOF`). Returns undefined
 * when the word is no heredoc; throws when its delimiter has an unbalanced quote.
 */
export function parseHeredocWord(word: string): Heredoc | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (!match) return undefined;
  const [, fd = '', dash = '', rest = ''] = match;
  if (rest.length === 0) return undefined;
  const delimiter = shellWords(rest, false);
  if (delimiter.words.length !== 1) return undefined;
  return {
    name: delimiter.words[0] ?? '',
    fd: fd === '' ? 0 : Number.parseInt(fd, 10),
    // Any quoting of the delimiter turns expansion of the body off, as in a POSIX shell.
    expand: !delimiter.quoted,
    chomp: dash === '-',
    content: '',
  };
}

/**
 * The heredocs an instruction line opens, in order. A quoted `"<<EOF"` is not one; a bare `<<`
 * operator takes the next word as its delimiter (`<< EOF`).
 */
export function heredocsFromLine(line: string): Heredoc[] {
  let words: string[];
  try {
    words = shellWords(line, true).words;
  } catch {
    // An open quote elsewhere on the line is the shell's problem at run time, not a heredoc.
    return [];
  }
  const heredocs: Heredoc[] = [];
  for (let index = 0; index < words.length; index++) {
    let word = words[index] ?? '';
    if (BARE_OPERATOR.test(word) && index + 1 < words.length) word += ` ${words[++index] ?? ''}`;
    const heredoc = parseHeredocWord(word);
    if (heredoc) heredocs.push(heredoc);
  }
  return heredocs;
}

/** Strips leading tabs from every line, as `<<-` asks. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
