/**
 * Every rule on the 128 real-world Dockerfiles of the conformance corpus: none crashes, and the
 * number of findings per rule is the one docs/checks.md gives (test/helpers/fixtures/
 * realworld-check-counts.json; regenerate it with TZBUILD_UPDATE_COUNTS=1 and update the doc).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRules } from '../../../checks/rule-table.js';
import { checkDockerfile } from '../../../checks/run.js';
import { fixturesDir } from '../../helpers/paths.js';
import { conformancePath, readConformance } from '../builder/parse/conformance.js';

const files = readdirSync(conformancePath('realworld'))
  .filter((name) => name.endsWith('.Dockerfile'))
  .sort();
const countsFile = path.join(fixturesDir, 'realworld-check-counts.json');

/** Findings per rule (files with a finding of it), files the planner refuses, on this host's platform. */
function countAll() {
  const findings = Object.fromEntries(allRules.map((rule) => [rule.name, 0]));
  const filesWith = Object.fromEntries(allRules.map((rule) => [rule.name, 0]));
  const wouldNotBuild: string[] = [];
  for (const file of files) {
    const text = readConformance('realworld', file);
    const report = checkDockerfile(
      { dockerfile: { text, name: file }, platform: { os: 'linux', architecture: 'amd64' } },
      { rules: allRules },
    );
    if (report.error !== undefined) wouldNotBuild.push(`${file}: ${report.error.message}`);
    for (const finding of report.findings) findings[finding.rule] = (findings[finding.rule] ?? 0) + 1;
    for (const rule of new Set(report.findings.map((finding) => finding.rule)))
      filesWith[rule] = (filesWith[rule] ?? 0) + 1;
  }
  return { files: files.length, findings, filesWith, wouldNotBuild };
}

describe('checks on the realworld Dockerfiles', () => {
  it('checks all 128 files without a crash, with the counts docs/checks.md gives', () => {
    expect(files).toHaveLength(128);
    const counts = countAll();
    if (process.env.TZBUILD_UPDATE_COUNTS === '1') writeFileSync(countsFile, `${JSON.stringify(counts, null, 2)}\n`);
    expect(counts).toEqual(JSON.parse(readFileSync(countsFile, 'utf8')));
  });
});
