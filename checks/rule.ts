/**
 * What a build check is and what it reports. A rule reads a {@link CheckSubject} (the Dockerfile
 * with the build's inputs) and returns hits; the runner (run.ts) applies the `# check=` settings
 * and turns hits into {@link Finding}s. A rule with a mechanical repair also has a `fix`, which
 * turns one of its hits into text edits (fix.ts applies them).
 */
import type { CheckSubject } from './subject.js';

/** How much a finding matters: `error` fails the check (exit 1), `info` is advice. */
export type Severity = 'error' | 'warning' | 'info';

/** Where rules come from: BuildKit's build checks (same names and meaning), or tzbuild's cache advice. */
export type RuleOrigin = 'buildkit' | 'cache';

/**
 * One replacement in the Dockerfile's text: `[start, end)` are UTF-16 offsets into the whole text.
 * Fixes replace text within one line only (never a line ending), so a fixed file keeps its lines.
 */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** What a rule found, before the `# check=` settings apply. */
export interface RuleHit<Detail = unknown> {
  /** 1-based lines the finding belongs to. */
  line: number;
  endLine?: number;
  message: string;
  /** What the rule's fix needs to know (the node, the word to rewrite …). */
  detail?: Detail;
}

/** A build check. `Detail` is what its hits carry for its fix. */
export interface Rule<Detail = unknown> {
  /** BuildKit's rule name for BuildKit's rules (`StageNameCasing`). */
  readonly name: string;
  /** Where the rule is documented: BuildKit's page for its rules, docs/checks.md for tzbuild's. */
  readonly docs: string;
  /** One line: what the rule asks for. */
  readonly description: string;
  /** The severity when `# check=error=true` does not raise it. */
  readonly severity: Severity;
  readonly origin: RuleOrigin;
  /** Off unless `# check=experimental=NAME` (or `all`) turns it on, as in BuildKit. */
  readonly experimental?: boolean;
  check(subject: CheckSubject): RuleHit<Detail>[];
  /** The edits that repair `hit`, or undefined when this one cannot be repaired mechanically. */
  fix?(hit: RuleHit<Detail>, subject: CheckSubject): TextEdit[] | undefined;
}

/** One reported problem or piece of advice. */
export interface Finding {
  rule: string;
  /** The rule's documentation (BuildKit's page, or docs/checks.md#anchor). */
  docs: string;
  severity: Severity;
  /** The Dockerfile as the user named it. */
  file: string;
  line: number;
  endLine: number;
  message: string;
  /** The mechanical repair of this finding, when its rule has one (`tzbuild check --fix`). */
  fix?: TextEdit[];
}

/** Everything one check run found. */
export interface CheckReport {
  file: string;
  findings: Finding[];
  /**
   * The error the build would stop with (a Dockerfile that does not parse or plan), when there is
   * one: the check then fails whatever the findings say.
   */
  error?: { message: string; line?: number; endLine?: number };
  /** Rules that ran (after `skip=`), for SARIF's rule list and the summary. */
  rules: readonly Rule[];
}
