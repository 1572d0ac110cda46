/**
 * The cache matrix: for each kind of change, exactly which steps re-run. Builds a real
 * two-stage Dockerfile on the busybox base, changes one thing, rebuilds, and reads the
 * `step.miss` events of `--progress=json`.
 */
import { chmod, cp, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild, tempStore } from '../../helpers/cli.js';
import { canRunPrivileged } from '../../helpers/host.js';

const dockerfile = `ARG BASE=busybox
FROM \${BASE} AS deps
ARG UNUSED
WORKDIR /deps
COPY dep.txt ./
RUN cat dep.txt > /dep.out

FROM \${BASE}
ARG VERSION=1
ENV MODE=prod
LABEL team=core
WORKDIR /app
COPY src/ ./src/
RUN echo "$VERSION $MODE" > /app/built && ls src > /app/list
COPY --from=deps /dep.out /app/
EXPOSE 80
CMD ["cat", "/app/built"]
`;

const S = {
  depsArg: 'ARG UNUSED',
  depsWorkdir: 'WORKDIR /deps',
  depsCopy: 'COPY dep.txt ./',
  depsRun: 'RUN cat dep.txt > /dep.out',
  arg: 'ARG VERSION=1',
  env: 'ENV MODE=prod',
  label: 'LABEL team=core',
  workdir: 'WORKDIR /app',
  copy: 'COPY src/ ./src/',
  run: 'RUN echo "$VERSION $MODE" > /app/built && ls src > /app/list',
  copyFrom: 'COPY --from=deps /dep.out /app/',
  expose: 'EXPOSE 80',
  cmd: 'CMD ["cat", "/app/built"]',
};

let store: string;
let template: string;
/** Scratch dirs made by this file, removed after it. */
const scratch: string[] = [];

async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Why each step missed in the last `missedSteps` build, by instruction text. */
let reasons = new Map<string, string>();

/** Builds `context` and returns the instruction text of every step that missed the cache. */
async function missedSteps(
  context: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<string[]> {
  const result = await runTzbuild(['build', '--progress=json', '-t', 'matrix:1', ...extraArgs, context], {
    env: { TZBUILD_ROOT: store, ...env },
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const events = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; stepId: string; text?: string; reason?: string });
  const texts = new Map(events.filter((e) => e.type === 'step.start').map((e) => [e.stepId, e.text ?? '']));
  const misses = events.filter((e) => e.type === 'step.miss');
  reasons = new Map(misses.map((e) => [texts.get(e.stepId) ?? e.stepId, e.reason ?? '']));
  return misses.map((e) => texts.get(e.stepId) ?? e.stepId).sort();
}

let workdir: string;

/**
 * A fresh copy of the template context, already built once (so its steps are cached). Always at
 * the same path: miss explanations compare with the last build of the same context and Dockerfile.
 */
async function primedContext(): Promise<string> {
  const context = path.join(workdir, 'context');
  await rm(context, { recursive: true, force: true });
  await cp(template, context, { recursive: true });
  await missedSteps(context);
  return context;
}

describe('cache matrix: which steps re-run after each kind of change', () => {
  beforeAll(async () => {
    canRunPrivileged();
    store = await tempStore();
    const archive = path.join(os.tmpdir(), `tz-matrix-busybox-${process.pid}.tar`);
    await makeBusyboxDockerArchive(archive, 'busybox:latest');
    expect((await runTzbuild(['load', archive], { env: { TZBUILD_ROOT: store } })).exitCode).toBe(0);
    await rm(archive);
    template = await scratchDir('tz-matrix-template-');
    workdir = await scratchDir('tz-matrix-work-');
    await mkdir(path.join(template, 'src'));
    await writeFile(path.join(template, 'Dockerfile'), dockerfile);
    await writeFile(path.join(template, '.dockerignore'), '**/*.log\n');
    await writeFile(path.join(template, 'dep.txt'), 'dependency v1\n');
    await writeFile(path.join(template, 'src', 'a.c'), 'int main(void) { return 0; }\n');
    await writeFile(path.join(template, 'src', 'notes.log'), 'ignored\n');
    // A second base image: busybox plus one file.
    const base2 = await scratchDir('tz-matrix-base2-');
    await writeFile(path.join(base2, 'Dockerfile'), 'FROM busybox\nRUN touch /marker\n');
    expect((await runTzbuild(['build', '-t', 'base2', base2], { env: { TZBUILD_ROOT: store } })).exitCode).toBe(0);
  });

  it('the first build runs every step; an unchanged rebuild runs none', async () => {
    const context = await scratchDir('tz-matrix-');
    await cp(template, context, { recursive: true });
    expect(await missedSteps(context)).toEqual(Object.values(S).sort());
    expect(await missedSteps(context)).toEqual([]);
  });

  it('touch on a context file (mtime only) re-runs nothing', async () => {
    const context = await primedContext();
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(context, 'src', 'a.c'), later, later);
    expect(await missedSteps(context)).toEqual([]);
  });

  it('a changed .dockerignored file re-runs nothing', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'src', 'notes.log'), 'changed\n');
    expect(await missedSteps(context)).toEqual([]);
  });

  it('a content change re-runs the COPY and what follows it', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'src', 'a.c'), 'int main(void) { return 1; }\n');
    expect(await missedSteps(context)).toEqual([S.copy, S.run, S.copyFrom, S.expose, S.cmd].sort());
    expect(reasons.get(S.copy)).toBe('changed: file src/a.c (content)');
    expect(reasons.get(S.run)).toBe('a step before it changed');
  });

  it('a mode change re-runs the COPY and what follows it', async () => {
    const context = await primedContext();
    await chmod(path.join(context, 'src', 'a.c'), 0o755);
    expect(await missedSteps(context)).toEqual([S.copy, S.run, S.copyFrom, S.expose, S.cmd].sort());
    expect(reasons.get(S.copy)).toBe('changed: file src/a.c (mode)');
  });

  it('a build arg the RUN sees re-runs the RUN, not the COPY before it', async () => {
    const context = await primedContext();
    expect(await missedSteps(context, ['--build-arg', 'VERSION=2'])).toEqual(
      [S.arg, S.run, S.copyFrom, S.expose, S.cmd].sort(),
    );
    expect(reasons.get(S.run)).toBe('changed: build arg VERSION');
  });

  it('a build arg no stage declares re-runs nothing', async () => {
    const context = await primedContext();
    expect(await missedSteps(context, ['--build-arg', 'NOT_DECLARED=1'])).toEqual([]);
  });

  it('a declared but unused build arg re-runs the RUNs in its scope (they see it in their env)', async () => {
    const context = await primedContext();
    // With SOURCE_DATE_EPOCH the re-run RUN yields the same layer, so the COPY --from of it hits.
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    await missedSteps(context, [], epoch);
    expect(await missedSteps(context, ['--build-arg', 'UNUSED=x'], epoch)).toEqual([S.depsArg, S.depsRun].sort());
  });

  it('an earlier stage that re-runs with the same output: the COPY --from of it hits by content', async () => {
    const context = await primedContext();
    // No SOURCE_DATE_EPOCH: the re-run RUN's layer differs (mtimes), the copied file does not.
    expect(await missedSteps(context, ['--build-arg', 'UNUSED=y'])).toEqual([S.depsArg, S.depsRun].sort());
    // Recorded under the new chain too: the same build again hits at once.
    expect(await missedSteps(context, ['--build-arg', 'UNUSED=y'])).toEqual([]);
  });

  it('a changed ENV re-runs only the steps that observe it', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'Dockerfile'), dockerfile.replace('ENV MODE=prod', 'ENV MODE=dev'));
    expect(await missedSteps(context)).toEqual(['ENV MODE=dev', S.label, S.run, S.copyFrom, S.expose, S.cmd].sort());
    expect(reasons.get('ENV MODE=dev')).toBe('the instruction changed');
    expect(reasons.get(S.label)).toBe('an earlier instruction changed the image config');
    expect(reasons.get(S.run)).toBe('changed: ENV MODE');
  });

  it('a changed LABEL runs no filesystem step', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'Dockerfile'), dockerfile.replace('LABEL team=core', 'LABEL team=platform'));
    expect(await missedSteps(context)).toEqual(['LABEL team=platform', S.expose, S.cmd].sort());
  });

  it('a changed WORKDIR re-runs it and the steps that depend on the path', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'Dockerfile'), dockerfile.replace('WORKDIR /app', 'WORKDIR /app/sub'));
    expect(await missedSteps(context)).toEqual(['WORKDIR /app/sub', S.copy, S.run, S.copyFrom, S.expose, S.cmd].sort());
  });

  it('a different base image re-runs every step of both stages', async () => {
    const context = await primedContext();
    expect(await missedSteps(context, ['--build-arg', 'BASE=base2'])).toEqual(Object.values(S).sort());
    expect(reasons.get(S.workdir)).toBe('the base image changed');
  });

  it('a change in an earlier stage re-runs that stage and the COPY --from of it', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'dep.txt'), 'dependency v2\n');
    expect(await missedSteps(context)).toEqual([S.depsCopy, S.depsRun, S.copyFrom, S.expose, S.cmd].sort());
    expect(reasons.get(S.depsCopy)).toBe('changed: file dep.txt (content)');
    expect(reasons.get(S.copyFrom)).toBe('changed: the files it copies');
  });

  it('--dry-run names the misses the real build then has, and runs and stores nothing', async () => {
    const context = await primedContext();
    await writeFile(path.join(context, 'src', 'a.c'), 'int main(void) { return 2; }\n');
    const blobsBefore = await readdir(path.join(store, 'blobs', 'sha256'));
    const planned = await missedSteps(context, ['--dry-run']);
    const plannedReasons = new Map(reasons);
    expect(await readdir(path.join(store, 'blobs', 'sha256'))).toEqual(blobsBefore);
    expect(await missedSteps(context)).toEqual(planned);
    expect(plannedReasons.get(S.copy)).toBe('changed: file src/a.c (content)');
  });

  it('--no-cache re-runs everything; --no-cache-filter only the named stage', async () => {
    const context = await primedContext();
    expect(await missedSteps(context, ['--no-cache'])).toEqual(Object.values(S).sort());
    const depsOnly = await missedSteps(context, ['--no-cache-filter', 'deps']);
    expect(depsOnly).toEqual(expect.arrayContaining([S.depsArg, S.depsWorkdir, S.depsCopy, S.depsRun]));
    expect(depsOnly).not.toContain(S.copy);
  });
});
