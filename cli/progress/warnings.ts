/**
 * The short build check summary every display ends a build with: a count, then the first few
 * findings one line each (`tzbuild check` shows them all, with the source lines).
 */
import type { BuildWarning } from '../../core/ports.js';

/** Findings listed under the count; the rest are counted. */
const listed = 5;

/** The summary's lines, without line endings; none when there is nothing to say. */
export function warningLines(warnings: readonly BuildWarning[]): string[] {
  if (warnings.length === 0) return [];
  const count = `${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
  const lines = warnings
    .slice(0, listed)
    .map((warning) => `  ${warning.rule} (line ${warning.line}): ${warning.message}`);
  const more = warnings.length > listed ? [`  … and ${warnings.length - listed} more`] : [];
  return [`${count} from the build checks (tzbuild check shows the details):`, ...lines, ...more];
}
