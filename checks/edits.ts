/**
 * Text edits on the Dockerfile as written, for the rules' fixes: each finds exactly what it
 * replaces on one physical line and gives up (undefined) rather than guess, so everything else
 * (comments, continuations, heredoc bodies) stays byte for byte.
 */
import type { TextEdit } from './rule.js';
import type { CheckSubject, Entry } from './subject.js';

/** Replaces the instruction keyword at the start of the entry's first line. */
export function keywordEdit(subject: CheckSubject, entry: Entry, keyword: string): TextEdit | undefined {
  const line = entry.instruction.range.startLine;
  const text = subject.lines[line - 1] ?? '';
  const start = text.length - text.trimStart().length;
  if (text.slice(start, start + entry.node.keyword.length) !== entry.node.keyword) return undefined;
  return lineEdit(subject, line, start, start + entry.node.keyword.length, keyword);
}

/**
 * Replaces the one occurrence of `word` (bounded by whitespace or the line's ends) within the
 * entry's lines; undefined when it is not there exactly once.
 */
export function wordEdit(subject: CheckSubject, entry: Entry, word: string, replacement: string): TextEdit | undefined {
  const { startLine, endLine } = entry.instruction.range;
  const found: TextEdit[] = [];
  for (let line = startLine; line <= endLine; line++) {
    const text = subject.lines[line - 1] ?? '';
    // Comment lines inside a continuation are no part of the instruction.
    if (line > startLine && text.trimStart().startsWith('#')) continue;
    for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
      const before = at === 0 ? ' ' : text[at - 1]!;
      const after = text[at + word.length] ?? ' ';
      if (/\s/.test(before) && /\s/.test(after)) found.push(lineEdit(subject, line, at, at + word.length, replacement));
    }
  }
  return found.length === 1 ? found[0] : undefined;
}

/**
 * Replaces a one-line instruction from its keyword to its last non-blank character; undefined
 * for an instruction over several lines (a continuation or a heredoc).
 */
export function instructionEdit(subject: CheckSubject, entry: Entry, text: string): TextEdit | undefined {
  const { startLine, endLine } = entry.instruction.range;
  if (startLine !== endLine) return undefined;
  const line = subject.lines[startLine - 1] ?? '';
  const start = line.length - line.trimStart().length;
  if (line.slice(start, start + entry.node.keyword.length) !== entry.node.keyword) return undefined;
  return lineEdit(subject, startLine, start, line.trimEnd().length, text);
}

function lineEdit(subject: CheckSubject, line: number, from: number, to: number, text: string): TextEdit {
  const offset = subject.lineStarts[line - 1] ?? 0;
  return { start: offset + from, end: offset + to, text };
}

/** Upper- or lowercases `word` to match the case of `model` (an all-lowercase model: lowercase). */
export function inCaseOf(model: string, word: string): string {
  return model === model.toLowerCase() ? word.toLowerCase() : word.toUpperCase();
}
