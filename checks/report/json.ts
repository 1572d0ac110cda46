/**
 * `tzbuild check --format json`: one JSON document for editors and scripts. Lines are 1-based;
 * a fix is given as edits of one line each (`column`/`endColumn`: 0-based UTF-16 offsets into
 * that line, as editors count), so an editor can offer it as a quick fix. Fields are only ever
 * added; `version` changes when one changes meaning. Schema: docs/checks.md.
 */
import type { CheckReport, Severity, TextEdit } from '../rule.js';

/** One edit of a fix, located by line and columns. */
export interface JsonEdit {
  line: number;
  column: number;
  endColumn: number;
  text: string;
}

/** One finding in the JSON output. */
export interface JsonFinding {
  rule: string;
  severity: Severity;
  line: number;
  endLine: number;
  message: string;
  docs: string;
  fix?: JsonEdit[];
}

/** The whole document. */
export interface JsonReport {
  version: 1;
  file: string;
  findings: JsonFinding[];
  /** Findings per severity. */
  counts: Record<Severity, number>;
  /** The error the build would stop with, when there is one. */
  error?: { message: string; line?: number; endLine?: number };
}

/** The report as the JSON document; `text` is the Dockerfile the edits apply to. */
export function jsonReport(report: CheckReport, text: string): JsonReport {
  const starts = lineStarts(text);
  const counts = { error: 0, warning: 0, info: 0 };
  for (const finding of report.findings) counts[finding.severity] += 1;
  return {
    version: 1,
    file: report.file,
    findings: report.findings.map(({ rule, severity, line, endLine, message, docs, fix }) => ({
      rule,
      severity,
      line,
      endLine,
      message,
      docs,
      ...(fix === undefined ? {} : { fix: fix.map((edit) => jsonEdit(edit, starts)) }),
    })),
    counts,
    ...(report.error === undefined ? {} : { error: report.error }),
  };
}

function lineStarts(text: string): number[] {
  // Editors do not count a byte order mark as a column.
  const starts = [text.startsWith('\ufeff') ? 1 : 0];
  for (let index = text.indexOf('\n'); index >= 0; index = text.indexOf('\n', index + 1)) starts.push(index + 1);
  return starts;
}

function jsonEdit(edit: TextEdit, starts: number[]): JsonEdit {
  // The last line starting at or before the edit (edits never span lines).
  let line = 0;
  while (line + 1 < starts.length && (starts[line + 1] ?? Infinity) <= edit.start) line++;
  const start = starts[line] ?? 0;
  return { line: line + 1, column: edit.start - start, endColumn: edit.end - start, text: edit.text };
}
