/**
 * `tzbuild check` and the build checks through the CLI: text with the source lines, JSON and
 * SARIF for tools, exit codes, `--fix` and `--diff`, `build --check`, the "N warnings" summary of
 * a normal build (plain and JSON progress), `# check=error=true` failing a build before it runs,
 * and cache advice from the history real builds recorded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, buildOk, loadedStore, writeContext } from '../../helpers/build-fixture.js';
import { runTzbuild, tempStore } from '../../helpers/cli.js';
import { validateJson } from '../../helpers/json-schema.js';
import { fixturesDir } from '../../helpers/paths.js';

const dockerfile = [
  'FROM scratch AS Build',
  'COPY a.txt /a.txt',
  'ENV MODE prod',
  'EXPOSE 80/TCP',
  'CMD serve --port 80',
  '',
].join('\n');

let store: string;

beforeAll(async () => {
  store = await tempStore();
});

async function check(args: string[], context: string) {
  return runTzbuild(['check', '--root', store, ...args, context]);
}

describe('tzbuild check', () => {
  it('names file, line and rule with the source lines, and exits 0 on warnings', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'a.txt': 'a\n' });
    const result = await runTzbuild(['check', '--root', store, '.'], { cwd: context });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("warning: Dockerfile:1: StageNameCasing: Stage name 'Build' should be lowercase\n");
    expect(result.stdout).toContain(' 3 | >>> ENV MODE prod\n');
    expect(result.stdout).toContain('https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      'check: 0 errors, 4 warnings, 0 advice (4 fixable with --fix)',
    );
  });

  it('writes JSON and SARIF 2.1.0 for tools', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'a.txt': 'a\n' });
    const json = await check(['--format', 'json'], context);
    expect(json.exitCode, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.findings.map((finding: { rule: string; line: number }) => [finding.rule, finding.line])).toEqual([
      ['StageNameCasing', 1],
      ['LegacyKeyValueFormat', 3],
      ['ExposeProtoCasing', 4],
      ['JSONArgsRecommended', 5],
    ]);
    const sarif = await check(['--format', 'sarif'], context);
    const schema = JSON.parse(readFileSync(path.join(fixturesDir, 'sarif/sarif-schema-2.1.0.json'), 'utf8'));
    expect(validateJson(JSON.parse(sarif.stdout), schema)).toEqual([]);
  });

  it('exits 1 when a finding is an error; --check-skip and skip= leave rules out', async () => {
    const context = await writeContext({ Dockerfile: `# check=error=true\n${dockerfile}`, 'a.txt': 'a\n' });
    const failing = await check(['--format', 'json'], context);
    expect(failing.exitCode).toBe(1);
    expect(JSON.parse(failing.stdout).counts).toEqual({ error: 4, warning: 0, info: 0 });
    const skipped = await check(
      ['--check-skip', 'StageNameCasing,LegacyKeyValueFormat', '--check-skip', 'ExposeProtoCasing', '--format', 'json'],
      context,
    );
    expect(JSON.parse(skipped.stdout).findings.map((finding: { rule: string }) => finding.rule)).toEqual([
      'JSONArgsRecommended',
    ]);
    expect(skipped.exitCode).toBe(1);
  });

  it('--diff shows the fixes and --fix writes them, keeping everything else', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'a.txt': 'a\n' });
    const diff = await check(['--diff'], context);
    expect(diff.exitCode).toBe(0);
    expect(diff.stdout).toContain(
      '@@ -1,5 +1,5 @@\n-FROM scratch AS Build\n+FROM scratch AS build\n COPY a.txt /a.txt\n',
    );
    expect(await readFile(path.join(context, 'Dockerfile'), 'utf8')).toBe(dockerfile);
    const fixed = await check(['--fix'], context);
    expect(fixed.stderr).toBe(`fixed 4 findings in ${path.join(context, 'Dockerfile')}\n`);
    expect(await readFile(path.join(context, 'Dockerfile'), 'utf8')).toBe(
      'FROM scratch AS build\nCOPY a.txt /a.txt\nENV MODE=prod\nEXPOSE 80/tcp\nCMD ["serve", "--port", "80"]\n',
    );
    expect(fixed.stdout.trimEnd().split('\n').at(-1)).toBe('check: 0 errors, 0 warnings, 0 advice');
    const stdin = await runTzbuild(['check', '--root', store, '--fix', '-f', '-', context], { input: dockerfile });
    expect(stdin.exitCode).toBe(1);
    expect(stdin.stderr).toContain('--fix cannot rewrite a Dockerfile read from stdin');
  });

  it('creates nothing in a store that does not exist', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'a.txt': 'a\n' });
    const missing = path.join(await tempStore(), 'not-there');
    const result = await runTzbuild(['check', '--root', missing, '--format', 'json', context]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(missing)).toBe(false);
  });

  it('reports the error the build would stop with', async () => {
    const context = await writeContext({ Dockerfile: 'FROM scratch\nCOPY a.txt\n' });
    const result = await check([], context);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('the Dockerfile would not build: COPY requires at least two arguments');
  });
});

describe('builds and the checks', () => {
  it('build --check checks and builds nothing', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'a.txt': 'a\n' });
    const checkStore = await tempStore();
    const result = await runTzbuild(['build', '--check', '--root', checkStore, context]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('check: 0 errors, 4 warnings');
    expect((await runTzbuild(['images', '--root', checkStore])).stdout).not.toContain('sha256');
  });

  it('a build ends with the warnings summary, in plain and JSON progress', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'a.txt': 'a\n' });
    const plain = await buildOk(store, [context]);
    expect(plain.stderr.trimEnd().split('\n').slice(-5)).toEqual([
      '4 warnings from the build checks (tzbuild check shows the details):',
      "  StageNameCasing (line 1): Stage name 'Build' should be lowercase",
      '  LegacyKeyValueFormat (line 3): "ENV key=value" should be used instead of legacy "ENV key value" format',
      "  ExposeProtoCasing (line 4): Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
      '  JSONArgsRecommended (line 5): JSON arguments recommended for CMD to prevent unintended behavior related ' +
        'to OS signals',
    ]);
    const json = await runTzbuild(['build', '--root', store, '--progress', 'json', context]);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.at(-2).type).toBe('build.done');
    expect(events.at(-1).type).toBe('build.warnings');
    expect(events.at(-1).warnings.map((warning: { rule: string }) => warning.rule)).toEqual([
      'StageNameCasing',
      'LegacyKeyValueFormat',
      'ExposeProtoCasing',
      'JSONArgsRecommended',
    ]);
  });

  it('# check=error=true fails the build before anything runs', async () => {
    const context = await writeContext({ Dockerfile: `# check=error=true\n${dockerfile}`, 'a.txt': 'a\n' });
    const failStore = await tempStore();
    const result = await build(failStore, [context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'error: build checks failed (# check=error=true): StageNameCasing, LegacyKeyValueFormat, ExposeProtoCasing',
    );
    expect(result.stderr).toContain(' 2 | >>> FROM scratch AS Build');
    expect(result.stderr).not.toContain('building ');
    const passing = await build(failStore, ['--check-skip', 'all', context]);
    expect(passing.exitCode, passing.stderr).toBe(0);
  });
});

describe('cache advice from real builds', () => {
  it('blames COPY . for an install that re-ran in most builds, with the numbers', async () => {
    const busyboxStore = await loadedStore();
    const context = await writeContext({
      Dockerfile: 'FROM busybox:latest\nWORKDIR /app\nCOPY . .\nRUN echo "stand-in for: npm ci" > /deps\n',
      'package.json': '{}\n',
      'src/index.js': 'v0\n',
    });
    for (let n = 0; n < 4; n++) {
      if (n > 0) await writeFile(path.join(context, 'src/index.js'), `v${n}\n`);
      await buildOk(busyboxStore, [context]);
    }
    const result = await runTzbuild(['check', '--root', busyboxStore, '--format', 'json', context]);
    const advice = JSON.parse(result.stdout).findings.filter(
      (finding: { severity: string }) => finding.severity === 'info',
    );
    expect(advice).toEqual([
      expect.objectContaining({
        rule: 'DependencyInstallAfterContextCopy',
        line: 4,
        message:
          'RUN echo "stand-in for: npm ci" > /deps (line 4) missed the cache in 3 of the last 4 builds because ' +
          'COPY . . (line 3) before it copies changing files (src/index.js): copy package*.json first, run the ' +
          'install, then copy the rest',
      }),
    ]);
  });
});
