/** Which progress display a build gets: `--progress`, `-q`, and whether stderr is a terminal. */

/** The `--progress` flag's values. */
export type ProgressFlag = 'auto' | 'plain' | 'json' | 'tty';

/** What is actually shown. */
export type ProgressMode = 'plain' | 'json' | 'tty' | 'quiet';

/** What `auto` looks at. */
export interface Terminal {
  /** stderr (where progress goes) is a terminal. */
  isTTY: boolean;
  env: Record<string, string | undefined>;
}

/**
 * `-q` wins; `auto` is the TUI on a terminal, plain lines otherwise, and plain under `CI` (CI
 * log viewers fake a terminal but cannot redraw) or `TERM=dumb` (no cursor movement).
 */
export function progressMode(flag: ProgressFlag, quiet: boolean, terminal: Terminal): ProgressMode {
  if (quiet) return 'quiet';
  if (flag !== 'auto') return flag;
  const ci = terminal.env.CI !== undefined && terminal.env.CI !== '' && terminal.env.CI !== 'false';
  return terminal.isTTY && !ci && terminal.env.TERM !== 'dumb' ? 'tty' : 'plain';
}
