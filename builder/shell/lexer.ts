/**
 * The shell-word lexer, with BuildKit's rules (frontend/dockerfile/shell): quotes, the escape
 * token, `$NAME` and `${NAME...}` forms, nesting. It walks the word one code point at a time.
 */
import { LexError } from './errors.js';
import { replacePattern, trimPrefix, trimSuffix } from './pattern.js';
import { WordCollector } from './words.js';

/** `$1`, `$@`, `$#` ... are recognised as names (so they expand to nothing) but are never set. */
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

/** Result of expanding up to a stop character: the joined text and its words. */
interface Piece {
  text: string;
  words: string[];
}

/** One use of the lexer on one word. Not reusable. */
export class ShellLexer {
  private readonly chars: string[];
  private pos = 0;
  /** True while reading a pattern: escapes are kept for the pattern matcher. */
  private rawEscapes = false;
  /** Names looked up and found set (an empty value counts as set). */
  readonly matched = new Set<string>();
  /** Names looked up and not set. */
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly escapeToken: string,
  ) {
    this.chars = Array.from(word);
  }

  /** Expands the whole word. */
  run(): Piece {
    return this.processUntil(undefined, false);
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }

  private lookup(name: string): string | undefined {
    const value = this.env.get(name);
    (value === undefined ? this.unmatched : this.matched).add(name);
    return value;
  }

  /** Reads up to `stop` (consumed) or the end of the word; a missing `stop` is an error. */
  private processUntil(stop: string | undefined, rawEscapes: boolean): Piece {
    const outerRaw = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.readUntil(stop);
    } finally {
      this.rawEscapes = outerRaw;
    }
  }

  private readUntil(stop: string | undefined): Piece {
    let text = '';
    const words = new WordCollector();
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (ch === stop) {
        this.next();
        return { text, words: words.words() };
      }
      if (ch === '$' || ch === "'" || ch === '"') {
        const expanded = ch === '$' ? this.dollar() : ch === "'" ? this.singleQuoted() : this.doubleQuoted();
        text += expanded;
        // Whitespace out of an unquoted expansion splits words; quoted text never does.
        if (ch === '$') words.addSplitting(expanded);
        else words.addRaw(expanded);
        continue;
      }
      this.next();
      if (ch !== this.escapeToken) {
        words.addChar(ch);
        text += ch;
        continue;
      }
      if (this.rawEscapes) {
        words.addRaw(ch);
        text += ch;
      }
      const escaped = this.next();
      if (escaped === undefined) break; // a trailing escape is dropped
      words.addRaw(escaped);
      text += escaped;
    }
    if (stop !== undefined) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    return { text, words: words.words() };
  }

  /** `'...'`: everything literal, no escapes. */
  private singleQuoted(): string {
    this.next();
    let text = '';
    for (let ch = this.next(); ch !== "'"; ch = this.next()) {
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
      text += ch;
    }
    return text;
  }

  /** `"..."`: `$` expands; the escape token escapes only `"`, `$` and itself. */
  private doubleQuoted(): string {
    this.next();
    let text = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return text;
      }
      if (ch === '$') {
        text += this.dollar();
        continue;
      }
      this.next();
      if (ch !== this.escapeToken) {
        text += ch;
        continue;
      }
      if (this.rawEscapes) text += ch;
      const following = this.peek();
      if (following === undefined) continue; // then the missing quote is reported
      if (following === '"' || following === '$' || following === this.escapeToken) text += this.next();
      else text += ch;
    }
  }

  /** A name: letters/digits/underscore, or a run of digits, or one special parameter. */
  private name(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (DIGIT.test(first)) {
      let digits = '';
      while (this.peek() !== undefined && DIGIT.test(this.peek() as string)) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) return this.next() as string;
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  /** `$NAME` or `${...}`; the cursor is on the `$`. */
  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.lookup(name) ?? '');
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === '}') return this.lookup(name) ?? '';
    if (op === '/') return this.substitute(name);
    if (op === ':') return this.modifier(name, this.next(), true);
    if (op === '+' || op === '-' || op === '?' || op === '#' || op === '%') return this.modifier(name, op, false);
    if (op === undefined) throw new LexError("syntax error: missing '}'");
    throw new LexError(`unsupported modifier (${op}) in substitution`);
  }

  /** Reads the word of a modifier up to `}`; a missing `}` gets BuildKit's message. */
  private operand(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processUntil(stop, rawEscapes).text;
    } catch (error) {
      if (error instanceof LexError && this.peek() === undefined) throw new LexError(missing);
      throw error;
    }
  }

  /** `${NAME-w}`, `${NAME:-w}`, `+`, `?`, `#`, `##`, `%`, `%%`; the cursor is after the operator. */
  private modifier(name: string, op: string | undefined, nullIsUnset: boolean): string {
    const isPattern = op === '#' || op === '%';
    const written = `${nullIsUnset ? ':' : ''}${op ?? ''}`;
    // `${VAR:#p}` is not a shell form: refuse it rather than guess.
    if (nullIsUnset && isPattern) throw new LexError(`unsupported modifier (${written}) in substitution`);
    const word = this.operand('}', isPattern, "syntax error: missing '}'");
    const value = this.lookup(name);
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return unset ? word : value;
      case '+':
        return unset ? '' : word;
      case '?': {
        if (!unset) return value;
        const fallback = value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty';
        throw new LexError(`${name}: ${word === '' ? fallback : word}`);
      }
      case '#':
      case '%': {
        // `##` / `%%` arrive as a word starting with the operator again.
        const greedy = word.startsWith(op);
        const pattern = greedy ? word.slice(1) : word;
        const current = value ?? '';
        return op === '#' ? trimPrefix(pattern, current, greedy) : trimSuffix(pattern, current, greedy);
      }
      default:
        throw new LexError(`unsupported modifier (${written}) in substitution`);
    }
  }

  /** `${NAME/p/r}` and `${NAME//p/r}`; the cursor is after the first `/`. */
  private substitute(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.operand('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.operand('}', true, "syntax error: missing '}'");
    return replacePattern(this.lookup(name) ?? '', pattern, replacement, all);
  }
}
