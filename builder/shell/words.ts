/** Collects the words of a shell word while it is being expanded (for `expandWords`). */

/** Go's unicode.IsSpace: ASCII whitespace, NEL, NBSP and the Unicode White_Space spaces. */
const SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;

/** True for a character that separates words when it is unquoted. */
export function isShellSpace(ch: string): boolean {
  return SPACE.test(ch);
}

/**
 * Splits as it goes: unquoted whitespace ends the current word; quoted text and escaped
 * characters are kept whole. An empty quoted string (`""`) opens a word but adds no text, and
 * an empty word is never emitted, as in BuildKit.
 */
export class WordCollector {
  private current = '';
  private inWord = false;
  private readonly done: string[] = [];

  /** An unquoted character (or one coming out of an unquoted expansion). */
  addChar(ch: string): void {
    if (!isShellSpace(ch)) {
      this.addRaw(ch);
    } else if (this.inWord && this.current.length > 0) {
      this.done.push(this.current);
      this.current = '';
      this.inWord = false;
    }
  }

  /** Text that is never split (quoted, escaped). */
  addRaw(text: string): void {
    this.current += text;
    this.inWord = true;
  }

  /** Text from an unquoted expansion: split on its whitespace. */
  addSplitting(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  /** The words so far, including the one in progress. */
  words(): string[] {
    return this.current.length > 0 ? [...this.done, this.current] : [...this.done];
  }
}
