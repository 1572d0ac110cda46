/**
 * Physical lines → logical instruction lines, the way BuildKit's scanner does it: continuation
 * lines joined, comment lines inside a continuation skipped, blank ones skipped with a warning,
 * heredoc bodies read on request.
 *
 * dockerfile-ast is not used for this: it ends instructions differently from BuildKit (an escaped
 * escape at line end, heredoc delimiters with quotes or fds), and the dump depends on every byte.
 */
import { trimLeftGo } from './text.js';

/** BuildKit's scanner buffer (bufio.MaxScanTokenSize); a longer line is an error. */
const MAX_LINE_BYTES = 65536;

/** A logical line: one instruction's text with its 1-based line range. */
export interface LogicalLine {
  text: string;
  startLine: number;
  endLine: number;
  /** Set when blank lines were skipped inside the continuation. */
  hadEmptyContinuation: boolean;
}

/** A scanner problem; `line`/`endLine` are 1-based when known. */
export class ScanError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly endLine?: number,
  ) {
    super(message);
  }
}

/** Go's `trimNewline`: removes every trailing CR and LF. */
function trimNewline(line: string): string {
  return line.replace(/[\r\n]+$/, '');
}

function isComment(line: string): boolean {
  return trimLeftGo(trimNewline(line)).startsWith('#');
}

/** Splits text into physical lines, each keeping its `\n`, BOM removed. */
export function physicalLines(text: string): string[] {
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  const lines = body.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const [index, line] of lines.entries()) {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (bytes > MAX_LINE_BYTES || (bytes === MAX_LINE_BYTES && !line.endsWith('\n'))) {
      throw new ScanError(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES - 1}`, index + 1);
    }
  }
  return lines;
}

/** Reads logical lines and heredoc bodies from physical lines, in order. */
export class LineScanner {
  private next = 0;
  private readonly continuation: RegExp;

  constructor(
    private readonly lines: string[],
    escapeToken: string,
  ) {
    const token = escapeToken === '\\' ? '\\\\' : escapeToken;
    // An odd run of escape tokens at line end continues the line; `\\` is an escaped backslash.
    this.continuation = new RegExp(`(^|[^${token}])((?:${token}${token})*)${token}[ \\t]*$`);
  }

  /** The next instruction line, or undefined at end of file. */
  readLogical(): LogicalLine | undefined {
    while (this.next < this.lines.length) {
      const first = this.lines[this.next++] ?? '';
      const startLine = this.next;
      const content = isComment(first) ? '' : trimLeftGo(trimNewline(first));
      let { text, ended } = this.trimContinuation(content);
      if (ended && text === '') continue;
      let hadEmptyContinuation = false;
      while (!ended && this.next < this.lines.length) {
        const raw = this.lines[this.next++] ?? '';
        if (isComment(raw)) continue;
        if (trimLeftGo(trimNewline(raw)) === '') {
          hadEmptyContinuation = true;
          continue;
        }
        const part = this.trimContinuation(trimNewline(raw));
        text += part.text;
        ended = part.ended;
      }
      return { text, startLine, endLine: this.next, hadEmptyContinuation };
    }
    return undefined;
  }

  /**
   * Reads a heredoc body up to its terminator line and returns it raw (each line with its line
   * ending). With `chomp`, leading tabs are ignored when matching the terminator only.
   */
  readHeredocBody(name: string, chomp: boolean): string {
    let content = '';
    while (this.next < this.lines.length) {
      const raw = this.lines[this.next++] ?? '';
      let candidate = trimNewline(raw);
      if (chomp) candidate = candidate.replace(/^\t+/, '');
      if (candidate === name) return content;
      content += raw;
    }
    throw new ScanError('unterminated heredoc');
  }

  /** 1-based number of the last line read. */
  get lineNumber(): number {
    return this.next;
  }

  private trimContinuation(line: string): { text: string; ended: boolean } {
    if (!this.continuation.test(line)) return { text: line, ended: true };
    return { text: line.replace(this.continuation, '$1$2'), ended: false };
  }
}
