/**
 * Cancelling a build with SIGINT/SIGTERM, for real through `bin/tzbuild`: the running step is
 * killed, the exit code is 130/143 with one "build cancelled" line, and nothing is left — no
 * mount under the store, no process of the step (or of its cache lock), no runtime state in the
 * store's tmp — so the next build starts clean. Failed and successful builds leave nothing either.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { tzbuildBin } from '../../helpers/cli.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { mountsUnder } from '../../helpers/mounts.js';
import { tmpLeftovers } from './leftovers.js';
import { waitFor } from '../runners/suite-helpers.js';
import { build, buildOk, loadedStore, readIn, unpack, writeContext } from '../../helpers/build-fixture.js';

const enabled = await canRunPrivileged();

/** Host pids whose command line mentions `needle` (the step's marker, or the store path). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push(Number(name));
  }
  return found;
}

/** No mount, no process and no scratch of any step may outlive a build. */
async function expectNothingLeft(store: string, marker: string): Promise<void> {
  expect(await mountsUnder(store)).toEqual([]);
  expect(await processesMentioning(marker)).toEqual([]);
  expect(await processesMentioning(store)).toEqual([]);
  // Runtime state (runc --root), upperdirs, views and secrets all live in tmp while a step runs.
  expect(await tmpLeftovers(store)).toEqual([]);
  expect(await readdir('/dev/shm')).not.toContain(expect.stringMatching(/^tzbuild-secret-/));
}

/** True once some RUN --mount=type=cache dir of the store holds `name`. */
async function cacheMountHas(store: string, name: string): Promise<boolean> {
  const root = path.join(store, 'cache-mounts');
  for (const id of await readdir(root).catch(() => [] as string[])) {
    for (const slot of await readdir(path.join(root, id)).catch(() => [] as string[])) {
      if (existsSync(path.join(root, id, slot, name))) return true;
    }
  }
  return false;
}

/**
 * Starts a JSON-progress build and resolves once the step running `marker` is alive and `ready`
 * holds (wrapped: the subprocess is a promise, which `await` would otherwise wait for).
 */
async function startAndWaitForStep(
  store: string,
  runner: string,
  context: string,
  marker: string,
  ready = async () => true,
) {
  const child = execa(
    process.execPath,
    [tzbuildBin, 'build', '--root', store, '--runner', runner, '--progress', 'json', context],
    {
      reject: false,
      env: { NO_COLOR: '1' },
      stdin: 'ignore',
    },
  );
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await waitFor(
    async () =>
      stdout.includes('"step.start"') &&
      stdout.includes('sleep') &&
      (await processesMentioning(marker)).length > 0 &&
      (await ready()),
    30_000,
  );
  return { child };
}

describe.skipIf(!enabled).each(['auto', 'namespaces'])('cancelling a build (--runner %s)', (runner) => {
  let store: string;

  beforeAll(async () => {
    store = await loadedStore();
  });

  const sleeper = (marker: string) =>
    `FROM busybox\nRUN --mount=type=cache,target=/c,sharing=locked --mount=type=tmpfs,target=/t sh -c 'echo started ` +
    `> /c/x; sleep 100; echo ${marker}'\n`;

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`stops on ${signal} with exit code ${code}, leaving nothing behind`, async () => {
      const marker = `tzb-cancel-${randomBytes(4).toString('hex')}`;
      const context = await writeContext({ Dockerfile: sleeper(marker) });
      // The marker is in the step's argv from its start: wait for its write to the cache too.
      const { child } = await startAndWaitForStep(store, runner, context, marker, () => cacheMountHas(store, 'x'));
      const sentAt = Date.now();
      child.kill(signal);
      const result = await child;
      // The step sleeps 100 s: well before that means the signal stopped it (loose: CI machines are busy).
      expect(Date.now() - sentAt).toBeLessThan(30_000);
      expect(result.exitCode).toBe(code);
      expect(result.stderr.trim().split('\n').at(-1)).toBe('build cancelled');
      await expectNothingLeft(store, marker);
      // The next build starts clean: the cancelled step was not cached, and the locked cache is free.
      const next = await writeContext({
        Dockerfile: `FROM busybox\nRUN --mount=type=cache,target=/c,sharing=locked cp /c/x /x\n`,
      });
      await buildOk(store, ['--runner', runner, '-t', `after-${signal.toLowerCase()}:1`, next]);
      expect(await readIn(await unpack(store, `after-${signal.toLowerCase()}:1`), 'x')).toBe('started\n');
      await expectNothingLeft(store, marker);
    });
  }

  it('exits at once on a second SIGINT', async () => {
    const marker = `tzb-twice-${randomBytes(4).toString('hex')}`;
    const context = await writeContext({
      Dockerfile: `FROM busybox\nRUN sh -c 'trap "" INT TERM; sleep 100; echo ${marker}'\n`,
    });
    const { child } = await startAndWaitForStep(store, runner, context, marker);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    await waitFor(async () => (await processesMentioning(marker)).length === 0).catch(async () => {
      // Leftovers here would be the documented gap of an immediate exit; clear them for other tests.
      for (const pid of await processesMentioning(marker)) await execa('kill', ['-9', String(pid)], { reject: false });
    });
  });

  it('leaves nothing after a failed or a successful build with mounts', async () => {
    const marker = `tzb-done-${randomBytes(4).toString('hex')}`;
    const mounts = '--mount=type=cache,target=/c --mount=type=bind,target=/ctx';
    const failing = await writeContext({ Dockerfile: `FROM busybox\nRUN ${mounts} sh -c 'echo ${marker}; exit 3'\n` });
    const failed = await build(store, ['--runner', runner, failing]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/exit code: 3/);
    await expectNothingLeft(store, marker);
    const passing = await writeContext({
      Dockerfile: `FROM busybox\nRUN ${mounts} sh -c 'echo ${marker} > /ok'\n`,
    });
    await buildOk(store, ['--runner', runner, '-t', 'ok:1', passing]);
    await expectNothingLeft(store, marker);
  });
});
