/**
 * The build's cache history: every build (with the fake runner) adds one entry to the store's
 * history of its Dockerfile, with each step's hit or miss, the reason and the inputs that changed.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../../builder/build.js';
import { historyIdentity, instructionHash } from '../../../builder/build-history.js';
import { fakeBuildSetup } from '../../helpers/fake-build.js';

const dockerfile = 'FROM scratch\nARG STAMP=1\nCOPY a.txt /a.txt\nRUN one\nENV X=1\n';

describe('build history', () => {
  it('records each step of each build: hits, misses, reasons and changed inputs', async () => {
    const setup = await fakeBuildSetup(dockerfile);
    const options = setup.options();
    const identity = historyIdentity(options.contextDir, options.dockerfile.name);
    await build(options, setup.deps);
    await writeFile(path.join(setup.context, 'a.txt'), 'changed\n');
    await build(options, setup.deps);
    await build(setup.options({ buildArgs: new Map([['STAMP', '2']]) }), setup.deps);
    await build(setup.options({ buildArgs: new Map([['STAMP', '2']]) }), setup.deps);

    const history = await setup.deps.cache.readHistory(identity);
    expect(history).toHaveLength(4);
    const [first, second, third, fourth] = history;
    expect(first?.target).toBe('0');
    expect(first?.steps.map((step) => [step.line, step.cached, step.reason])).toEqual([
      [2, false, 'no earlier build of this step'],
      [3, false, 'no earlier build of this step'],
      [4, false, 'no earlier build of this step'],
      [5, false, 'no earlier build of this step'],
    ]);
    const copy = second?.steps.find((step) => step.line === 3);
    expect(copy).toMatchObject({ cached: false, instruction: 'COPY a.txt /a.txt' });
    expect(copy?.changed).toEqual(expect.arrayContaining(['file:a.txt', 'sources']));
    expect(copy?.instructionHash).toBe(instructionHash('COPY a.txt /a.txt'));
    expect(second?.steps.find((step) => step.line === 4)?.changed).toEqual(['base']);
    expect(second?.steps.find((step) => step.line === 2)?.cached).toBe(true);
    const run = third?.steps.find((step) => step.line === 4);
    expect(run?.changed).toContain('arg:STAMP');
    expect(fourth?.steps.every((step) => step.cached && step.reason === undefined)).toBe(true);
  });

  it('records nothing for a dry run or a build without the cache', async () => {
    const setup = await fakeBuildSetup(dockerfile);
    const options = setup.options();
    await build(setup.options({ dryRun: true }), setup.deps);
    await build(setup.options({ noCache: true }), setup.deps);
    expect(await setup.deps.cache.readHistory(historyIdentity(options.contextDir, options.dockerfile.name))).toEqual(
      [],
    );
  });
});
