/** The error type of shell-word expansion. */
import { UserError } from '../../core/errors.js';

/**
 * A word that cannot be expanded (unclosed quote, bad `${...}`, `${VAR?msg}` on an unset
 * variable, ...). The message names the word; callers add the Dockerfile file and line.
 */
export class ShellExpansionError extends UserError {
  constructor(
    /** The word as written, before expansion. */
    readonly word: string,
    /** What went wrong, e.g. `VAR: is not allowed to be unset`. */
    readonly detail: string,
  ) {
    super(`failed to process ${JSON.stringify(word)}: ${detail}`, 'SHELL_EXPANSION');
  }
}

/** Internal: thrown inside the lexer, turned into ShellExpansionError once the word is known. */
export class LexError extends Error {}
