/**
 * SARIF 2.1.0, the format code-scanning UIs read: one run of the `tzbuild` tool, its rules (those
 * that ran), one result per finding at the Dockerfile's lines. A Dockerfile that does not build
 * makes the invocation unsuccessful, with the error as a notification. docs/checks.md says what
 * of the schema the tests validate.
 */
import path from 'node:path';
import type { CheckReport, Finding, Rule, Severity } from '../rule.js';

/** The JSON schema the output follows (OASIS, 2.1.0 with errata). */
export const sarifSchemaUri =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

const levels: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** The report as a SARIF log (a plain object, ready for JSON.stringify). */
export function sarifLog(report: CheckReport, toolVersion: string): Record<string, unknown> {
  const rules = [...report.rules];
  const index = new Map(rules.map((rule, position) => [rule.name, position]));
  const uri = artifactUri(report.file);
  return {
    $schema: sarifSchemaUri,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'tzbuild', version: toolVersion, rules: rules.map(ruleDescriptor) } },
        invocations: [invocation(report, uri)],
        results: report.findings.map((finding) => result(finding, index.get(finding.rule), uri)),
      },
    ],
  };
}

function ruleDescriptor(rule: Rule): Record<string, unknown> {
  const absolute = /^https?:\/\//.test(rule.docs);
  return {
    id: rule.name,
    name: rule.name,
    shortDescription: { text: rule.description },
    ...(absolute ? { helpUri: rule.docs } : { help: { text: `See ${rule.docs} in tzbuild's documentation.` } }),
    defaultConfiguration: { level: levels[rule.severity] },
    properties: { tags: [rule.origin === 'buildkit' ? 'buildkit' : 'cache'] },
  };
}

function result(finding: Finding, ruleIndex: number | undefined, uri: string): Record<string, unknown> {
  return {
    ruleId: finding.rule,
    ...(ruleIndex === undefined ? {} : { ruleIndex }),
    level: levels[finding.severity],
    message: { text: finding.message },
    locations: [location(uri, finding.line, finding.endLine)],
  };
}

function location(uri: string, startLine: number, endLine: number): Record<string, unknown> {
  return { physicalLocation: { artifactLocation: { uri }, region: { startLine, endLine } } };
}

function invocation(report: CheckReport, uri: string): Record<string, unknown> {
  const error = report.error;
  if (error === undefined) return { executionSuccessful: true };
  return {
    executionSuccessful: false,
    toolExecutionNotifications: [
      {
        level: 'error',
        message: { text: error.message },
        ...(error.line === undefined ? {} : { locations: [location(uri, error.line, error.endLine ?? error.line)] }),
      },
    ],
  };
}

/** A relative path as a relative URI reference (what code scanning resolves against the checkout), else file://. */
function artifactUri(file: string): string {
  if (path.isAbsolute(file)) return `file://${encodeURI(file.split(path.sep).join('/'))}`;
  return encodeURI(file.split(path.sep).join('/'));
}
