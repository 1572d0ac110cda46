/**
 * `tzbuild check --fix`: applies the findings' edits to the Dockerfile's text. Edits never cross a
 * line ending and each replaces exactly what its rule found, so every other byte (comments,
 * continuations, heredoc bodies, line endings) stays as it was. Two fixes that touch the same
 * text cannot both apply from one check: the later waits for the next round, which checks the
 * fixed text again (a few rounds at most).
 */
import type { Finding, TextEdit } from './rule.js';

/** What fixing produced. */
export interface FixResult {
  text: string;
  /** The findings whose fix was applied, over all rounds. */
  fixed: Finding[];
}

/** Rounds of check-and-fix before giving up on fixes that keep colliding. */
const maxRounds = 4;

/**
 * Applies the fixes `check(text)` reports, checking again after each round until no fix is left
 * to apply.
 */
export function fixText(text: string, check: (text: string) => readonly Finding[]): FixResult {
  let current = text;
  const fixed: Finding[] = [];
  for (let round = 0; round < maxRounds; round++) {
    const { text: next, applied } = applyFixes(current, check(current));
    if (applied.length === 0) break;
    current = next;
    fixed.push(...applied);
  }
  return { text: current, fixed };
}

/** One round: every finding's edits that do not overlap an earlier finding's, applied from the end. */
export function applyFixes(text: string, findings: readonly Finding[]): { text: string; applied: Finding[] } {
  const taken: TextEdit[] = [];
  const applied: Finding[] = [];
  for (const finding of findings) {
    const edits = finding.fix ?? [];
    if (edits.length === 0 || edits.some((edit) => taken.some((other) => overlaps(edit, other)))) continue;
    taken.push(...edits);
    applied.push(finding);
  }
  let result = text;
  for (const edit of [...taken].sort((a, b) => b.start - a.start))
    result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return { text: result, applied };
}

function overlaps(a: TextEdit, b: TextEdit): boolean {
  return a.start < b.end && b.start < a.end;
}
