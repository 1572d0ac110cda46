/**
 * Variable expansion with the Dockerfile line attached: the planner and the step handlers call
 * these, never the lexer directly, so every expansion error names its file and line.
 */
import { DockerfileError, UserError } from '../core/errors.js';
import type { SourceRange } from './instructions.js';
import { expandWord, expandWords } from './shell/index.js';

export interface ExpandWhere {
  escapeToken: '\\' | '`';
  file: string;
  range: SourceRange;
}

function rethrow(error: unknown, where: ExpandWhere): never {
  if (error instanceof UserError) {
    throw new DockerfileError(error.message, where.file, where.range.startLine, where.range.endLine);
  }
  throw error;
}

/** Expands one word (quotes removed, no splitting). */
export function expandOrThrow(word: string, env: ReadonlyMap<string, string>, where: ExpandWhere): string {
  try {
    return expandWord(word, env, { escapeToken: where.escapeToken }).value;
  } catch (error) {
    return rethrow(error, where);
  }
}

/** Expands and splits into words (for EXPOSE, VOLUME and the like). */
export function expandWordsOrThrow(word: string, env: ReadonlyMap<string, string>, where: ExpandWhere): string[] {
  try {
    return expandWords(word, env, { escapeToken: where.escapeToken });
  } catch (error) {
    return rethrow(error, where);
  }
}
