/**
 * The cache advice on a scripted history: real builds (the solver, the step cache and the store,
 * with the fake runner) of a Dockerfile while its context or build args change, then `check` with
 * the history those builds recorded. The advice names what happened, with its numbers, and says
 * nothing about a well-ordered Dockerfile.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../../../builder/build.js';
import { gatherInputs } from '../../../../checks/gather.js';
import { allRules } from '../../../../checks/rule-table.js';
import { checkDockerfile } from '../../../../checks/run.js';
import { fakeBuildSetup, type FakeBuild } from '../../../helpers/fake-build.js';

const context = {
  'package.json': '{"name":"demo"}\n',
  'src/app.js': 'console.log(0)\n',
  '.git/index': 'commit 0\n',
};

/** Builds `builds` times; before each build after the first, `change(n)` edits the context or returns build args. */
async function scriptedBuilds(
  setup: FakeBuild,
  builds: number,
  change: (n: number) => Promise<Record<string, string> | undefined>,
): Promise<void> {
  for (let n = 0; n < builds; n++) {
    const args = n === 0 ? undefined : await change(n);
    await build(setup.options({ buildArgs: new Map(Object.entries(args ?? {})) }), setup.deps);
  }
}

/** The cache advice `check` gives after those builds, as `[rule, line, message]`. */
async function advice(setup: FakeBuild, dockerfile: string): Promise<[string, number, string][]> {
  const options = setup.options();
  const inputs = await gatherInputs(
    { dockerfile: { text: dockerfile, name: options.dockerfile.name }, contextDir: setup.context, listContext: true },
    { history: (identity) => setup.deps.cache.readHistory(identity) },
  );
  const report = checkDockerfile(inputs, { rules: allRules });
  return report.findings
    .filter((finding) => finding.severity === 'info')
    .map((finding) => [finding.rule, finding.line, finding.message]);
}

const editSources = (setup: FakeBuild) => async (n: number) => {
  await writeFile(path.join(setup.context, 'src/app.js'), `console.log(${n})\n`);
  await writeFile(path.join(setup.context, '.git/index'), `commit ${n}\n`);
  return undefined;
};

describe('cache advice from the history', () => {
  it('blames the COPY of changing files for an install that keeps missing, and names .git', async () => {
    const dockerfile = 'FROM scratch\nWORKDIR /app\nCOPY . /app\nRUN npm ci\n';
    const setup = await fakeBuildSetup(dockerfile, context);
    await scriptedBuilds(setup, 5, editSources(setup));
    expect(await advice(setup, dockerfile)).toEqual([
      [
        'UnignoredChangingFiles',
        3,
        'COPY . /app (line 3) copies files that changed in most of the last 5 builds (.git/ in 4 of 5) and that ' +
          'no later step needs: add them to .dockerignore',
      ],
      [
        'DependencyInstallAfterContextCopy',
        4,
        'RUN npm ci (line 4) missed the cache in 4 of the last 5 builds because COPY . /app (line 3) before it ' +
          'copies changing files (.git/index, src/app.js): copy package*.json first, run the install, then copy ' +
          'the rest',
      ],
    ]);
  });

  it('names an ARG whose value changes every build and the RUN steps it re-runs', async () => {
    const dockerfile = 'FROM scratch\nARG BUILD_DATE\nRUN setup --tools\nRUN make\nRUN echo $BUILD_DATE > /built\n';
    const setup = await fakeBuildSetup(dockerfile, context);
    await scriptedBuilds(setup, 6, async (n) => ({ BUILD_DATE: `2026-01-0${n}` }));
    expect(await advice(setup, dockerfile)).toEqual([
      [
        'ArgBustsRunCache',
        2,
        'ARG BUILD_DATE (line 2) busts every RUN after it: its value changed in 5 of the last 6 builds, re-running ' +
          'up to 3 RUN steps each time (2 of them do not use it); declare it just before RUN echo $BUILD_DATE > ' +
          '/built (line 5)',
      ],
    ]);
  });

  it('stays silent on a well-ordered Dockerfile, whatever changed', async () => {
    const dockerfile =
      'FROM scratch\nWORKDIR /app\nCOPY package.json /app/\nRUN npm ci\nCOPY . /app\nARG BUILD_DATE\n' +
      'RUN echo $BUILD_DATE > /app/built\n';
    const setup = await fakeBuildSetup(dockerfile, { ...context, '.dockerignore': '.git\n' });
    const edit = editSources(setup);
    await scriptedBuilds(setup, 6, async (n) => {
      await edit(n);
      return { BUILD_DATE: `2026-01-0${n}` };
    });
    expect(await advice(setup, dockerfile)).toEqual([]);
  });

  it('trusts the history over the static pattern: an install after COPY . that keeps hitting is fine', async () => {
    const dockerfile = 'FROM scratch\nWORKDIR /app\nCOPY . /app\nRUN npm ci\n';
    const setup = await fakeBuildSetup(dockerfile, { ...context, '.dockerignore': '.git\n' });
    expect((await advice(setup, dockerfile)).map(([rule]) => rule)).toEqual(['DependencyInstallAfterContextCopy']);
    await scriptedBuilds(setup, 4, async () => undefined);
    expect(await advice(setup, dockerfile)).toEqual([]);
  });
});
