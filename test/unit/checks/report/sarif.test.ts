/**
 * SARIF output against the official SARIF 2.1.0 JSON schema (OASIS, as schemastore publishes it:
 * test/helpers/fixtures/sarif/sarif-schema-2.1.0.json), checked with a draft-04 validator of the
 * keywords that schema uses (test/helpers/json-schema.ts), plus the fields code-scanning UIs read.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sarifLog, sarifSchemaUri } from '../../../../checks/report/sarif.js';
import { allRules } from '../../../../checks/rule-table.js';
import { checkDockerfile } from '../../../../checks/run.js';
import { validateJson } from '../../../helpers/json-schema.js';
import { fixturesDir } from '../../../helpers/paths.js';

const schema = JSON.parse(readFileSync(path.join(fixturesDir, 'sarif/sarif-schema-2.1.0.json'), 'utf8'));

const dockerfile = [
  '# check=error=true;skip=ExposeInvalidFormat',
  'FROM scratch AS Build',
  'COPY . /app',
  'RUN npm ci',
  'CMD run it',
  'FROM scratch AS build',
  '',
].join('\n');

function log(name = 'docker/app dir/Dockerfile') {
  const report = checkDockerfile({ dockerfile: { text: dockerfile, name } }, { rules: allRules });
  // biome-ignore lint/suspicious/noExplicitAny: the test walks the log's JSON freely
  return { report, sarif: sarifLog(report, '0.1.0') as Record<string, any> };
}

describe('SARIF output', () => {
  it('validates against the SARIF 2.1.0 schema', () => {
    const { sarif } = log();
    expect(validateJson(sarif, schema)).toEqual([]);
    expect(validateJson(log('/abs/Dockerfile').sarif, schema)).toEqual([]);
  });

  it('holds what code scanning reads: tool, rules, results with levels and locations', () => {
    const { report, sarif } = log();
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.$schema).toBe(sarifSchemaUri);
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('tzbuild');
    const ruleIds = run.tool.driver.rules.map((rule: { id: string }) => rule.id);
    expect(ruleIds).toContain('StageNameCasing');
    expect(ruleIds).not.toContain('ExposeInvalidFormat');
    expect(run.results).toHaveLength(report.findings.length);
    const levels = run.results.map((result: { ruleId: string; level: string }) => [result.ruleId, result.level]);
    expect(levels).toContainEqual(['StageNameCasing', 'error']);
    expect(levels).toContainEqual(['DependencyInstallAfterContextCopy', 'note']);
    for (const result of run.results) {
      expect(run.tool.driver.rules[result.ruleIndex].id).toBe(result.ruleId);
      expect(result.message.text).not.toBe('');
      const location = result.locations[0].physicalLocation;
      expect(location.artifactLocation.uri).toBe('docker/app%20dir/Dockerfile');
      expect(location.region.startLine).toBeGreaterThan(0);
    }
    // The planner's error (two stages named build) marks the invocation as failed.
    expect(run.invocations[0].executionSuccessful).toBe(false);
    expect(run.invocations[0].toolExecutionNotifications[0].message.text).toBe('duplicate stage name "build"');
  });

  it('is a validator that rejects what the schema forbids', () => {
    const { sarif } = log();
    const broken = structuredClone(sarif);
    broken.version = '2.0.0';
    broken.runs[0].results[0].level = 'fatal';
    delete broken.runs[0].results[1].message.text;
    broken.runs[0].tool.driver.surprise = true;
    expect(validateJson(broken, schema)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\$\.version: not one of/),
        expect.stringMatching(/^\$\.runs\[0\]\.results\[0\]\.level: not one of/),
        expect.stringMatching(/^\$\.runs\[0\]\.tool\.driver\.surprise: not allowed/),
      ]),
    );
    expect(validateJson(broken, schema).some((error) => error.includes('results[1].message'))).toBe(true);
  });
});
