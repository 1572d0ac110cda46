/**
 * Every rule against its corpus (test/helpers/fixtures/checks): at least one positive and one
 * negative Dockerfile each, the exact findings (lines and BuildKit's messages), and for rules
 * with a fix the exact bytes `--fix` writes.
 */
import { describe, expect, it } from 'vitest';
import { fixText } from '../../../../checks/fix.js';
import { allRules } from '../../../../checks/rule-table.js';
import { checkDockerfile } from '../../../../checks/run.js';
import { checkCases } from '../../../helpers/check-cases.js';

const cases = checkCases();
const ruleNamed = (name: string) => allRules.filter((rule) => rule.name === name);

describe('the rule corpus', () => {
  it('has a positive and a negative Dockerfile for every rule, and no folder without a rule', () => {
    const names = allRules.map((rule) => rule.name).sort();
    expect([...new Set(cases.map((entry) => entry.rule))].sort()).toEqual(names);
    for (const name of names) {
      const files = cases.filter((entry) => entry.rule === name);
      expect(
        files.some((entry) => entry.file.startsWith('positive') && entry.expect.length > 0),
        name,
      ).toBe(true);
      expect(
        files.some((entry) => entry.file.startsWith('negative') && entry.expect.length === 0),
        name,
      ).toBe(true);
    }
  });

  it.each(cases.map((entry) => [`${entry.rule}/${entry.file}`, entry] as const))('%s', (_label, entry) => {
    const report = checkDockerfile(entry.inputs, { rules: ruleNamed(entry.rule) });
    expect(report.findings.map((finding) => [finding.line, finding.message])).toEqual(entry.expect);
    expect(report.findings.every((finding) => finding.rule === entry.rule)).toBe(true);
    // Every rule together on the file: no crash.
    checkDockerfile(entry.inputs, { rules: allRules });
  });

  const fixable = cases.filter((entry) => entry.fixed !== undefined);
  it.each(fixable.map((entry) => [`${entry.rule}/${entry.file}`, entry] as const))('fixes %s', (_label, entry) => {
    const check = (text: string) =>
      checkDockerfile(
        { ...entry.inputs, dockerfile: { ...entry.inputs.dockerfile, text } },
        { rules: ruleNamed(entry.rule) },
      ).findings;
    const fixed = fixText(entry.text, check);
    expect(fixed.text).toBe(entry.fixed);
    // Fixed once and for all: nothing fixable is left.
    expect(check(fixed.text).filter((finding) => finding.fix !== undefined)).toEqual([]);
  });
});
