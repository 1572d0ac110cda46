/**
 * The solver with a fake Runner that counts its calls (no namespaces, no mounts): the second
 * identical build runs nothing, unneeded stages never run, independent stages run at the same
 * time, and the first failure stops the others.
 */
import { describe, expect, it } from 'vitest';
import { build } from '../../../builder/build.js';
import { StepError } from '../../../core/errors.js';
import { fakeBuildSetup as setup } from '../../helpers/fake-build.js';

describe('solver', () => {
  it('runs nothing the second time the same build is asked for', async () => {
    const { deps, runner, options } = await setup('FROM scratch\nCOPY a.txt /a.txt\nRUN one\nENV X=1\nRUN two\n');
    const first = await build(options(), deps);
    expect(runner.calls).toEqual(['one', 'two']);
    expect(first).toMatchObject({ cached: 0, ran: 4 });
    const second = await build(options(), deps);
    expect(runner.calls).toEqual(['one', 'two']);
    expect(second).toMatchObject({ cached: 4, ran: 0, imageId: first.imageId });
  });

  it('does not build stages the target does not need', async () => {
    const { deps, runner, options } = await setup(
      'FROM scratch AS unused\nRUN never\nFROM scratch AS used\nRUN once\n',
    );
    await build(options(), deps);
    expect(runner.calls).toEqual(['once']);
    await build(options({ target: 'unused' }), deps);
    expect(runner.calls).toEqual(['once', 'never']);
  });

  it('runs independent stages at the same time', async () => {
    const { deps, runner, options } = await setup(
      'FROM scratch AS a\nRUN sleep 0.3\nFROM scratch AS b\nRUN sleep 0.3 b\nFROM scratch\nCOPY --from=a /sleep_0_3 ' +
        '/a\nCOPY --from=b /sleep_0_3_b /b\n',
    );
    await build(options(), deps);
    expect(runner.maxRunning).toBe(2);
  });

  it('stops the other stages when one fails', async () => {
    const { deps, runner, events, options } = await setup(
      'FROM scratch AS slow\nRUN sleep 30\nFROM scratch AS bad\nRUN fail\nFROM scratch\nCOPY --from=slow /x /x\nCOPY ' +
        '--from=bad /y /y\n',
    );
    const started = Date.now();
    await expect(build(options(), deps)).rejects.toBeInstanceOf(StepError);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(runner.calls).toContain('aborted');
    expect(events.some((event) => event.type === 'step.failed')).toBe(true);
  });
});
