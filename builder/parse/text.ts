/**
 * Small text helpers that follow Go's definitions, because BuildKit's parser is written in Go and
 * its trimming and quoting rules decide what ends up in every argument.
 */

/** Go's `unicode.IsSpace`: differs from JS `\s` (Go counts U+0085, JS counts U+FEFF). */
export function isGoSpace(ch: string): boolean {
  switch (ch) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case '\u0085':
    case '\u00a0':
      return true;
    default:
      return ch > '\u00ff' && /^[\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u.test(ch);
  }
}

/** Go's `strings.TrimLeftFunc(s, unicode.IsSpace)`. */
export function trimLeftGo(text: string): string {
  let start = 0;
  while (start < text.length && isGoSpace(text[start] ?? '')) start++;
  return text.slice(start);
}

/** Go's `strings.TrimSpace`. */
export function trimGo(text: string): string {
  let end = text.length;
  while (end > 0 && isGoSpace(text[end - 1] ?? '')) end--;
  return trimLeftGo(text.slice(0, end));
}

/** BuildKit's `reWhitespace` (`[\t\v\f\r ]+`): the separator for whitespace-split arguments. */
export const WHITESPACE_RUN = /[\t\v\f\r ]+/;

/** Go's `regexp.Split(s, -1)` with {@link WHITESPACE_RUN}. */
export function splitOnWhitespace(text: string): string[] {
  return text.split(new RegExp(WHITESPACE_RUN.source, 'g'));
}

const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const GO_SHORT_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's `strconv.Quote`, which the reference dump uses for every argument. */
export function goQuote(text: string): string {
  let quoted = '"';
  for (const ch of text) {
    const short = GO_SHORT_ESCAPES[ch];
    if (short !== undefined) {
      quoted += short;
      continue;
    }
    if (GO_PRINTABLE.test(ch)) {
      quoted += ch;
      continue;
    }
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x80) quoted += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) quoted += `\\u${code.toString(16).padStart(4, '0')}`;
    else quoted += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${quoted}"`;
}
