/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`) in the leading comment block, found
 * with BuildKit's own pattern. (dockerfile-ast was once asked for candidate lines first; it only
 * ever flagged a superset of what this pattern accepts, cut values at whitespace and cost a
 * module load, so it went.)
 */

/** BuildKit's directive pattern, applied to a line with leading whitespace removed. */
const DIRECTIVE_LINE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/** One directive: name lowercased, value as written, 1-based line. */
export interface Directive {
  name: string;
  value: string;
  line: number;
}

/** A directive problem, with the line it is on (the caller adds the file name). */
export class DirectiveError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/**
 * Reads the directives at the top of a Dockerfile. `lines` are its physical lines without line
 * terminators (BOM already removed). The block ends at the first line that is not a known
 * directive. Throws {@link DirectiveError} for a repeated directive.
 */
export function readDirectives(lines: string[]): Directive[] {
  const directives: Directive[] = [];
  for (let index = 0; index < lines.length; index++) {
    const match = DIRECTIVE_LINE.exec((lines[index] ?? '').trimStart());
    const name = match?.[1]?.toLowerCase() ?? '';
    if (!match || !KNOWN_DIRECTIVES.has(name)) break;
    if (directives.some((seen) => seen.name === name)) {
      throw new DirectiveError(`only one ${name} parser directive can be used`, index + 1);
    }
    directives.push({ name, value: match[2] ?? '', line: index + 1 });
  }
  return directives;
}

/** Validates an `escape` directive value. */
export function escapeTokenOf(directive: Directive | undefined): '\\' | '`' {
  if (directive === undefined) return '\\';
  if (directive.value !== '\\' && directive.value !== '`') {
    throw new DirectiveError(`invalid escape token '${directive.value}' does not match \` or \\`, directive.line);
  }
  return directive.value;
}

/** What {@link findDirective} reports: `ref` is the value up to its first space. */
export interface FoundDirective {
  ref: string;
  cmdline: string;
  line: number;
}

/**
 * Looks for one directive the way BuildKit's frontend selection does: after an optional `#!`
 * line, in `#` comments; for `syntax` also in `//` comments or a whole-file JSON object.
 */
export function findDirective(key: string, text: string): FoundDirective | undefined {
  let body = text.replace(/^\ufeff/, '');
  let offset = 0;
  if (body.startsWith('#!')) {
    const newline = body.indexOf('\n');
    body = newline < 0 ? '' : body.slice(newline + 1);
    offset = 1;
  }
  const prefixes = key === 'syntax' ? ['#', '//'] : ['#'];
  for (const prefix of prefixes) {
    const found = scanCommentBlock(key, body, prefix);
    if (found) return { ...found, line: found.line + offset };
  }
  if (key === 'syntax') return syntaxFromJson(body, offset);
  return undefined;
}

function scanCommentBlock(key: string, body: string, prefix: string): FoundDirective | undefined {
  const pattern = new RegExp(`^${prefix}\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$`);
  const lines = body.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const match = pattern.exec((lines[index] ?? '').replace(/\r$/, ''));
    const name = match?.[1]?.toLowerCase() ?? '';
    if (!match || !KNOWN_DIRECTIVES.has(name)) return undefined;
    if (name === key) {
      const cmdline = match[2] ?? '';
      return { ref: cmdline.split(' ')[0] ?? '', cmdline, line: index + 1 };
    }
  }
  return undefined;
}

function syntaxFromJson(body: string, offset: number): FoundDirective | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const value = (parsed as Record<string, unknown>).syntax;
      if (typeof value === 'string') return { ref: value, cmdline: value, line: offset };
    }
  } catch {
    // Not a JSON file: no syntax directive.
  }
  return undefined;
}
