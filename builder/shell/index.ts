/**
 * Shell-word expansion for Dockerfile instructions, with BuildKit's rules.
 *
 * The environment is a `ReadonlyMap<string, string>`: a name that is absent is unset, a name
 * mapped to `''` is set but empty. Names are case-sensitive (Linux rules).
 *
 * Globs in `${VAR#p}` / `${VAR%p}` / `${VAR/p/r}` always use `\` as their escape, whatever the
 * Dockerfile's escape token, exactly as BuildKit does.
 */
import { LexError, ShellExpansionError } from './errors.js';
import { ShellLexer } from './lexer.js';

export { ShellExpansionError } from './errors.js';

/** Options of an expansion. */
export interface ExpandOptions {
  /** The Dockerfile's escape character (`# escape=`): `\` (default) or `` ` ``. */
  escapeToken?: '\\' | '`';
}

/** One expanded word and the variables it looked up. */
export interface ExpandedWord {
  /** The word with quotes removed and variables expanded; never split. */
  value: string;
  /** Names looked up and found set (an empty value counts as set). */
  matched: Set<string>;
  /** Names looked up and not set. */
  unmatched: Set<string>;
}

function runLexer(
  word: string,
  env: ReadonlyMap<string, string>,
  opts: ExpandOptions,
): { lexer: ShellLexer; text: string; words: string[] } {
  const lexer = new ShellLexer(word, env, opts.escapeToken ?? '\\');
  try {
    const { text, words } = lexer.run();
    return { lexer, text, words };
  } catch (error) {
    if (error instanceof LexError) throw new ShellExpansionError(word, error.message);
    throw error;
  }
}

/**
 * Expands `word` as one word (quotes removed, no splitting).
 * @throws ShellExpansionError on a syntax error, an unsupported form, or `${VAR?msg}`.
 */
export function expandWord(word: string, env: ReadonlyMap<string, string>, opts: ExpandOptions = {}): ExpandedWord {
  const { lexer, text } = runLexer(word, env, opts);
  return { value: text, matched: lexer.matched, unmatched: lexer.unmatched };
}

/**
 * Expands `word` and splits it into words on unquoted whitespace, including whitespace that
 * comes out of an unquoted expansion (`a${SPACE}b`). Quoted whitespace stays in its word.
 * @throws ShellExpansionError as `expandWord` does.
 */
export function expandWords(word: string, env: ReadonlyMap<string, string>, opts: ExpandOptions = {}): string[] {
  return runLexer(word, env, opts).words;
}
