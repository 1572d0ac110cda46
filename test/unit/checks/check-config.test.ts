/** The `# check=` directive, the BUILDKIT_DOCKERFILE_CHECK build arg and `--check-skip`. */
import { describe, expect, it } from 'vitest';
import { buildkitRules } from '../../../checks/buildkit-rules.js';
import { parseCheckValue, ruleEnabled } from '../../../checks/check-config.js';
import { checkDockerfile, reportFails } from '../../../checks/run.js';

const body = 'FROM scratch AS Build\nCMD run it\nMAINTAINER me\n';

function rulesFound(text: string, options: { buildArgs?: Record<string, string>; skip?: string[] } = {}) {
  const report = checkDockerfile(
    { dockerfile: { text, name: 'Dockerfile' }, buildArgs: new Map(Object.entries(options.buildArgs ?? {})) },
    { rules: buildkitRules, ...(options.skip === undefined ? {} : { skip: options.skip }) },
  );
  return { report, rules: report.findings.map((finding) => finding.rule) };
}

describe('check settings', () => {
  it('runs every rule as a warning by default', () => {
    const { report, rules } = rulesFound(body);
    expect(rules).toEqual(['StageNameCasing', 'JSONArgsRecommended', 'MaintainerDeprecated']);
    expect(report.findings.every((finding) => finding.severity === 'warning')).toBe(true);
    expect(reportFails(report)).toBe(false);
  });

  it('skips what # check=skip= names, and everything with skip=all', () => {
    expect(rulesFound(`# check=skip=StageNameCasing, MaintainerDeprecated\n${body}`).rules).toEqual([
      'JSONArgsRecommended',
    ]);
    expect(rulesFound(`# check=skip=all\n${body}`).rules).toEqual([]);
  });

  it('makes warnings errors with error=true, and the check fails', () => {
    const { report } = rulesFound(`# check=skip=JSONArgsRecommended;error=true\n${body}`);
    expect(report.findings.map((finding) => [finding.rule, finding.severity])).toEqual([
      ['StageNameCasing', 'error'],
      ['MaintainerDeprecated', 'error'],
    ]);
    expect(reportFails(report)).toBe(true);
  });

  it('takes BUILDKIT_DOCKERFILE_CHECK over the directive, and --check-skip on top', () => {
    const { rules } = rulesFound(`# check=error=true\n${body}`, {
      buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=MaintainerDeprecated' },
      skip: ['JSONArgsRecommended'],
    });
    expect(rules).toEqual(['StageNameCasing']);
  });

  it('reports a malformed directive as the error the build stops with', () => {
    const { report } = rulesFound(`# check=skip=A;bogus=1\n${body}`);
    expect(report.error).toEqual({ message: '# check=: invalid check option "bogus"', line: 1, endLine: 1 });
    expect(reportFails(report)).toBe(true);
    expect(() => parseCheckValue('error=maybe')).toThrow(/invalid check error value/);
    expect(() => parseCheckValue('skip')).toThrow(/invalid check option "skip"/);
  });

  it('runs an experimental rule only when experimental= names it', () => {
    const rule = { name: 'Future', experimental: true };
    expect(ruleEnabled(parseCheckValue(''), rule)).toBe(false);
    expect(ruleEnabled(parseCheckValue('experimental=Future'), rule)).toBe(true);
    expect(ruleEnabled(parseCheckValue('experimental=all'), rule)).toBe(true);
  });

  it('reports what the planner refuses, next to the findings', () => {
    const { report, rules } = rulesFound('FROM scratch AS a\nFROM scratch AS a\n');
    expect(rules).toEqual(['DuplicateStageName']);
    expect(report.error?.message).toBe('duplicate stage name "a"');
    expect(report.error?.line).toBe(2);
  });
});
