/** `check --format json`: findings with their lines, counts, and fixes as line/column edits for editors. */
import { describe, expect, it } from 'vitest';
import { jsonReport } from '../../../../checks/report/json.js';
import { allRules } from '../../../../checks/rule-table.js';
import { checkDockerfile } from '../../../../checks/run.js';

describe('JSON output', () => {
  it('lists findings with counts and fixes located by line and column', () => {
    const text = '\ufeffFROM scratch\n  expose 80/TCP\n';
    const report = checkDockerfile({ dockerfile: { text, name: 'Dockerfile' } }, { rules: allRules });
    const json = jsonReport(report, text);
    expect(json.version).toBe(1);
    expect(json.counts).toEqual({ error: 0, warning: 2, info: 0 });
    expect(json.findings.map((finding) => [finding.rule, finding.line, finding.fix])).toEqual([
      ['ConsistentInstructionCasing', 2, [{ line: 2, column: 2, endColumn: 8, text: 'EXPOSE' }]],
      ['ExposeProtoCasing', 2, [{ line: 2, column: 9, endColumn: 15, text: '80/tcp' }]],
    ]);
    expect(json.error).toBeUndefined();
  });

  it('carries the error a Dockerfile that does not parse stops with', () => {
    const text = 'FROM scratch\nFROBNICATE x\n';
    const report = checkDockerfile({ dockerfile: { text, name: 'Dockerfile' } }, { rules: allRules });
    expect(jsonReport(report, text)).toMatchObject({
      findings: [],
      error: { message: 'unknown instruction: FROBNICATE', line: 2 },
    });
  });
});
