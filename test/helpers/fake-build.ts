/**
 * Builds through the real solver and store with a fake Runner that counts its calls (no
 * namespaces, no mounts, no privileges): for tests of the solver, the step cache and what a build
 * records. A RUN's command decides what the fake does: `sleep N` waits, `fail…` exits 2, anything
 * else writes a file named after the command into the layer.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StoreImageSource } from '../../archive/store-image-source.js';
import type { BuildDeps, BuildOptions } from '../../builder/session.js';
import { DiskCacheStore } from '../../cache/cache-store.js';
import { openStore } from '../../cli/compose.js';
import type { BuildEvent, RunResult, RunSpec, Runner } from '../../core/ports.js';
import { storeLayout } from '../../store/layout.js';
import { StoreImageCommitter, StoreLayerWriter } from '../../store/store-adapters.js';

/** A runner that records calls and, per command, waits, writes a file or fails. */
export class FakeRunner implements Runner {
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

/** What {@link fakeBuildSetup} gives a test. */
export interface FakeBuild {
  deps: BuildDeps;
  runner: FakeRunner;
  events: BuildEvent[];
  /** The build context (holding `a.txt` plus the files given). */
  context: string;
  /** The store root. */
  root: string;
  options(extra?: Partial<BuildOptions>): BuildOptions;
}

/** A fresh store and context (`a.txt`, plus `files`) for building `dockerfile` with the fake runner. */
export async function fakeBuildSetup(dockerfile: string, files: Record<string, string> = {}): Promise<FakeBuild> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tz-solver-'));
  const context = path.join(root, 'context');
  await mkdir(context);
  for (const [name, content] of Object.entries({ 'a.txt': 'a\n', ...files })) {
    await mkdir(path.dirname(path.join(context, name)), { recursive: true });
    await writeFile(path.join(context, name), content);
  }
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
    dockerfile: { text: dockerfile, name: path.join(context, 'Dockerfile') },
    tags: ['solver:test'],
    buildArgs: new Map(),
    noCache: false,
    noCacheFilter: [],
    labels: {},
    ...extra,
  });
  return { deps, runner, events, context, root: store.root, options };
}
