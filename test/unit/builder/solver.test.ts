/**
 * The solver with a fake Runner that counts its calls (no namespaces, no mounts): the second
 * identical build runs nothing, unneeded stages never run, independent stages run at the same
 * time, and the first failure stops the others.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../../builder/build.js';
import type { BuildDeps, BuildOptions } from '../../../builder/session.js';
import { DiskCacheStore } from '../../../cache/cache-store.js';
import { openStore } from '../../../cli/compose.js';
import { storeLayout } from '../../../store/layout.js';
import { StoreImageSource } from '../../../archive/store-image-source.js';
import { StoreImageCommitter, StoreLayerWriter } from '../../../store/store-adapters.js';
import type { BuildEvent, RunResult, RunSpec, Runner } from '../../../core/ports.js';
import { StepError } from '../../../core/errors.js';

/** A runner that records calls and, per command, waits, writes a file or fails. */
class FakeRunner implements Runner {
  readonly name = 'fake';
  readonly calls: string[] = [];
  running = 0;
  maxRunning = 0;

  async run(spec: RunSpec): Promise<RunResult> {
    const command = spec.args.at(-1) ?? '';
    this.calls.push(command);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (command.startsWith('sleep')) await this.sleep(Number(command.split(' ')[1]) * 1000, spec.signal);
      if (command.startsWith('fail')) return { exitCode: 2 };
      await writeFile(path.join(spec.upperdir, command.replace(/\W+/g, '_')), command);
      return { exitCode: 0 };
    } finally {
      this.running -= 1;
    }
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          this.calls.push('aborted');
          resolve();
        },
        { once: true },
      );
    });
  }
}

async function setup(dockerfile: string) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tz-solver-'));
  const context = path.join(root, 'context');
  await mkdir(context);
  await writeFile(path.join(context, 'a.txt'), 'a\n');
  const store = await openStore(path.join(root, 'store'));
  const runner = new FakeRunner();
  const events: BuildEvent[] = [];
  const deps: BuildDeps = {
    content: store.content,
    snapshotter: store.snapshotter,
    layers: new StoreLayerWriter(store),
    images: new StoreImageSource(store),
    committer: new StoreImageCommitter(store),
    cache: new DiskCacheStore(store.root),
    runner,
    sink: { emit: (event) => events.push(event) },
    tmpDir: storeLayout(store.root).tmp,
  };
  const options = (extra: Partial<BuildOptions> = {}): BuildOptions => ({
    contextDir: context,
    dockerfile: { text: dockerfile, name: 'Dockerfile' },
    tags: ['solver:test'],
    buildArgs: new Map(),
    noCache: false,
    noCacheFilter: [],
    labels: {},
    ...extra,
  });
  return { deps, runner, events, options };
}

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
