/**
 * The build checks around a normal build: run before it (BuildKit's rules, checks/build-checks.ts),
 * they fail it at once when `# check=error=true` makes a finding an error (as BuildKit does);
 * otherwise their findings become the `build.warnings` event every display ends with.
 */
import { buildChecks } from '../checks/build-checks.js';
import type { CheckRequest } from '../checks/gather.js';
import { UserError } from '../core/errors.js';
import type { BuildWarning, ProgressSink } from '../core/ports.js';
import { checkSources } from './check-sources.js';

/**
 * The findings to report after the build. Throws a UserError listing the errors (with their
 * Dockerfile lines) when there are any. A Dockerfile that does not parse gives none: the build
 * reports that error itself.
 */
export async function checksBeforeBuild(
  request: CheckRequest,
  storeRoot: string,
  skip: readonly string[],
): Promise<BuildWarning[]> {
  const report = await buildChecks(request, checkSources(storeRoot), skip);
  const errors = report.findings.filter((finding) => finding.severity === 'error');
  if (errors.length > 0) {
    const { findingText } = await import('./check-text.js');
    const rules = [...new Set(errors.map((finding) => finding.rule))].join(', ');
    const failure = new UserError(`build checks failed (# check=error=true): ${rules}`, 'CHECK_FAILED');
    failure.details = errors.map((finding) => findingText(finding, request.dockerfile)).join('');
    throw failure;
  }
  return report.findings.map(({ rule, line, message }) => ({ rule, line, message }));
}

/** Ends the build's progress with the findings (nothing when there are none). */
export function reportWarnings(sink: ProgressSink, warnings: BuildWarning[]): void {
  if (warnings.length > 0) sink.emit({ type: 'build.warnings', time: Date.now(), warnings });
}
