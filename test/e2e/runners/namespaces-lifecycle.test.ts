/**
 * NamespaceRunner, lifecycle side: exit codes, signals, abort, and that nothing outlives a step.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../core/errors.js';
import { NamespaceRunner } from '../../../runners/namespaces.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { listMounts, mountsUnder, overlayDirsInUse, overlaysUsing } from '../../helpers/mounts.js';
import { runStep, stepScratchRoot } from '../../helpers/run-step.js';

const privileged = await canRunPrivileged();
const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-lifecycle-'));
const runner = new NamespaceRunner({ tmpRoot });
afterAll(() => rm(tmpRoot, { recursive: true, force: true }));

/** Host processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) found.push(Number(name));
  }
  return found;
}

/** Asserts the step left no mounts, no scratch dirs and no overlay over its upperdir. */
async function expectNothingLeft(upperdir: string): Promise<void> {
  // Even the namespace's own (invisible to us) overlay must be gone by the time run() settles.
  expect(await overlayDirsInUse(upperdir, path.join(path.dirname(upperdir), 'work'))).toBe(false);
  expect(await mountsUnder(tmpRoot)).toEqual([]);
  expect(await mountsUnder(await stepScratchRoot())).toEqual([]);
  expect(await overlaysUsing(upperdir)).toEqual([]);
  expect((await listMounts()).filter((m) => m.fsType === 'overlay' && m.options.includes(tmpRoot))).toEqual([]);
  expect(await readdir(tmpRoot)).toEqual([]);
}

describe.skipIf(!privileged)('NamespaceRunner lifecycle', () => {
  it('propagates the exit code and leaves nothing mounted after a failure', async () => {
    const step = await runStep(runner, ['sh', '-c', 'echo out; echo err >&2; exit 42']);
    expect(step.result).toEqual({ exitCode: 42 });
    expect(step.stdout).toBe('out\n');
    expect(step.stderr).toBe('err\n');
    await expectNothingLeft(step.upperdir);
  });

  it('leaves nothing mounted after a success', async () => {
    const step = await runStep(runner, ['true']);
    expect(step.result).toEqual({ exitCode: 0 });
    await expectNothingLeft(step.upperdir);
  });

  it('reports the signal that killed the step', async () => {
    const step = await runStep(runner, ['sh', '-c', 'kill -TERM $$']);
    expect(step.result).toEqual({ exitCode: 128 + os.constants.signals.SIGTERM, signal: 'SIGTERM' });
  });

  it('gives exit code 127 and a clear message for a missing executable', async () => {
    const step = await runStep(runner, ['no-such-tool', '--version']);
    expect(step.result.exitCode).toBe(127);
    expect(step.stderr).toMatch(/no-such-tool.*executable file not found in \$PATH/);
    const absolute = await runStep(runner, ['/opt/missing']);
    expect(absolute.result.exitCode).toBe(127);
    expect(absolute.stderr).toMatch(/\/opt\/missing.*no such file or directory/);
  });

  it('kills a running step quickly on abort and cleans up', async () => {
    const marker = `tzbuild-abort-${randomBytes(4).toString('hex')}`;
    const controller = new AbortController();
    const pending = runStep(runner, ['sh', '-c', `sleep 100; echo ${marker}`], { signal: controller.signal });
    await waitFor(async () => (await processesWith(marker)).length > 0);
    const abortedAt = Date.now();
    controller.abort();
    const step = await pending;
    expect(Date.now() - abortedAt).toBeLessThan(20_000); // the step sleeps 100 s; loose for busy CI machines
    expect(step.result).toEqual({ exitCode: 137, signal: 'SIGKILL' });
    expect(await processesWith(marker)).toEqual([]);
    await expectNothingLeft(step.upperdir);
  });

  it('does not start a step whose signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const step = await runStep(runner, ['sh', '-c', 'echo ran > /ran'], { signal: controller.signal });
    expect(step.result.signal).toBe('SIGKILL');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('kills background processes when the step ends', async () => {
    const marker = `tzbuild-bg-${randomBytes(4).toString('hex')}`;
    const step = await runStep(runner, ['sh', '-c', `(sleep 100; echo ${marker}) > /dev/null 2>&1 & echo started`]);
    expect(step.stdout).toBe('started\n');
    expect(step.durationMs).toBeLessThan(10_000);
    expect(await processesWith(marker)).toEqual([]);
  });

  it('fails with a RUNNER_SETUP error naming the cause when the sandbox cannot be built', async () => {
    const missing = path.join(tmpRoot, '..', `missing-upper-${randomBytes(4).toString('hex')}`);
    const failing = runStep(runner, ['true'], { upperdir: missing });
    await expect(failing).rejects.toBeInstanceOf(UserError);
    await expect(failing).rejects.toMatchObject({ code: 'RUNNER_SETUP', message: /mounting overlay/ });
    expect(await mountsUnder(tmpRoot)).toEqual([]);
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('rejects a spec without a command', async () => {
    await expect(runStep(runner, [])).rejects.toMatchObject({ code: 'RUNNER_SPEC' });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
