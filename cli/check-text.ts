/**
 * `tzbuild check`'s text output: each finding as an error is shown (`severity: FILE:LINE: Rule:
 * message`, then the Dockerfile lines marked `>>>`, then where the rule is documented), the error
 * the build would stop with, and a one-line count.
 */
import type { CheckReport, Finding } from '../checks/rule.js';
import { sourceSnippet } from './source-snippet.js';

type Dockerfile = { text: string; name: string };

/** The whole report as text. */
export function checkText(report: CheckReport, dockerfile: Dockerfile): string {
  let out = report.findings.map((finding) => findingText(finding, dockerfile)).join('\n');
  if (report.error !== undefined) {
    const { message, line, endLine } = report.error;
    const where = line === undefined ? report.file : `${report.file}:${line}`;
    const location = line === undefined ? undefined : { file: dockerfile.name, line, ...(endLine ? { endLine } : {}) };
    out += `${out === '' ? '' : '\n'}error: ${where}: the Dockerfile would not build: ${message}\n`;
    out += sourceSnippet(dockerfile, location);
  }
  return `${out}${out === '' ? '' : '\n'}${countLine(report)}\n`;
}

/** One finding: what, where, the lines, and the rule's documentation. */
export function findingText(finding: Finding, dockerfile: Dockerfile): string {
  const head = `${finding.severity}: ${finding.file}:${finding.line}: ${finding.rule}: ${finding.message}\n`;
  const snippet = sourceSnippet(dockerfile, { file: finding.file, line: finding.line, endLine: finding.endLine });
  const fix = finding.fix === undefined ? '' : ' (tzbuild check --fix repairs it)';
  return `${head}${snippet} ${finding.docs}${fix}\n`;
}

/** `check: 1 error, 2 warnings, 1 advice (2 fixable with --fix)`. */
export function countLine(report: CheckReport): string {
  const count = (severity: Finding['severity']) => report.findings.filter((f) => f.severity === severity).length;
  const parts = [
    plural(count('error') + (report.error === undefined ? 0 : 1), 'error', 'errors'),
    plural(count('warning'), 'warning', 'warnings'),
    plural(count('info'), 'advice', 'advice'),
  ];
  const fixable = report.findings.filter((finding) => finding.fix !== undefined).length;
  return `check: ${parts.join(', ')}${fixable === 0 ? '' : ` (${fixable} fixable with --fix)`}`;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
