/**
 * The invalid Dockerfiles whose error arises after parsing (stage `convert`, `build`,
 * `frontend` in errors/cases.json), run end to end through the CLI: each must exit 1 with every
 * expected substring, and name the expected lines (`Dockerfile:N:` and the `>>>` snippet).
 * The parse/instruction-stage cases are in test/unit/builder/parse/errors.test.ts.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild, tempStore } from '../../helpers/cli.js';
import { conformanceDir } from '../../helpers/paths.js';
import { canRunPrivileged } from '../../helpers/host.js';

interface ErrorCase {
  id: number;
  name: string;
  file: string;
  stage: string;
  expected_error: string[];
  error_lines?: number[];
  build_opts?: { target?: string };
  context_files?: Record<string, string>;
}

const errorsDir = path.join(conformanceDir, 'errors');
const cases = (JSON.parse(await readFile(path.join(errorsDir, 'cases.json'), 'utf8')) as ErrorCase[]).filter(
  (c) => !['parse', 'instruction'].includes(c.stage),
);

describe('errors/cases.json (convert, build and frontend stages)', () => {
  let store: string;

  beforeAll(async () => {
    canRunPrivileged();
    store = await tempStore();
    const archive = path.join(store, '..', `busybox-${path.basename(store)}.tar`);
    await makeBusyboxDockerArchive(archive, 'busybox:latest');
    expect((await runTzbuild(['load', archive], { env: { TZBUILD_ROOT: store } })).exitCode).toBe(0);
    // Several cases start FROM alpine; any shell image serves.
    expect((await runTzbuild(['tag', 'busybox', 'alpine'], { env: { TZBUILD_ROOT: store } })).exitCode).toBe(0);
  });

  it('covers the 24 later-stage cases', () => {
    expect(cases.length).toBe(24);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const context = await mkdtemp(path.join(os.tmpdir(), 'tz-err-'));
    for (const [name, content] of Object.entries(c.context_files ?? {})) {
      await mkdir(path.dirname(path.join(context, name)), { recursive: true });
      await writeFile(path.join(context, name), content);
    }
    await writeFile(path.join(context, 'Dockerfile'), await readFile(path.join(errorsDir, c.file)));
    const args = [
      'build',
      '--progress=plain',
      ...(c.build_opts?.target ? ['--target', c.build_opts.target] : []),
      context,
    ];
    const result = await runTzbuild(args, { env: { TZBUILD_ROOT: store }, cwd: context });
    expect(result.exitCode, result.stderr).toBe(1);
    const message = result.stderr.slice(result.stderr.indexOf('error: '));
    for (const expected of c.expected_error) expect(message).toContain(expected);
    expect(message).not.toContain('internal error');
    if (c.error_lines !== undefined) {
      expect(message).toContain(`Dockerfile:${c.error_lines[0]}:`);
      for (const line of c.error_lines) expect(message).toMatch(new RegExp(`^ +${line} \\| >>> `, 'm'));
    }
  });

  it('prints the counts', () => {
    console.log(`errors later stages: ${cases.length} cases run end to end`);
  });
});
