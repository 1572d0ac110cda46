import { mkdtemp, readdir, readFile, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BuildEvent, ProgressSink } from '../../../../core/ports.js';
import { MetadataSink, type BuildMetadata } from '../../../../cli/progress/metadata.js';
import { progressMode } from '../../../../cli/progress/mode.js';
import { TeeSink } from '../../../../cli/progress/sinks.js';
import { newBuildLogDir, pruneOldBuilds, StepLogs } from '../../../../cli/progress/step-logs.js';
import { recorded } from './events.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-sinks-'));
  dirs.push(dir);
  return dir;
}

async function feed(sink: ProgressSink, events: BuildEvent[]): Promise<void> {
  for (const event of events) sink.emit(event);
  await sink.close?.();
}

describe('progress mode', () => {
  const tty = { isTTY: true, env: {} };
  it('auto: the TUI on a terminal, plain lines in pipes, under CI and on dumb terminals', () => {
    expect(progressMode('auto', false, tty)).toBe('tty');
    expect(progressMode('auto', false, { isTTY: false, env: {} })).toBe('plain');
    expect(progressMode('auto', false, { isTTY: true, env: { CI: 'true' } })).toBe('plain');
    expect(progressMode('auto', false, { isTTY: true, env: { CI: 'false' } })).toBe('tty');
    expect(progressMode('auto', false, { isTTY: true, env: { TERM: 'dumb' } })).toBe('plain');
  });
  it('an explicit mode is honoured, and -q wins over everything', () => {
    expect(progressMode('tty', false, { isTTY: false, env: { CI: '1' } })).toBe('tty');
    expect(progressMode('plain', false, tty)).toBe('plain');
    expect(progressMode('json', false, tty)).toBe('json');
    expect(progressMode('json', true, tty)).toBe('quiet');
  });
});

describe('step logs', () => {
  it('writes every output line of each step to its own file, whole', async () => {
    const dir = path.join(await tempDir(), 'build');
    const logs = new StepLogs(dir);
    const long = 'z'.repeat(20_000);
    await feed(logs, [
      ...recorded('multistage-cold'),
      { type: 'step.output', time: 1, stepId: '9.9', stream: 'stdout', line: long },
    ]);
    expect((await readdir(dir)).sort()).toEqual(['0.3.log', '1.2.log', '9.9.log']);
    expect(await readFile(path.join(dir, '0.3.log'), 'utf8')).toBe(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `compiling part ${n}\n`).join(''),
    );
    expect(await readFile(path.join(dir, '1.2.log'), 'utf8')).toBe('checking\nlint ok\n');
    expect(await readFile(path.join(dir, '9.9.log'), 'utf8')).toBe(`${long}\n`);
    expect(logs.pathOf('0.3')).toBe(path.join(dir, '0.3.log'));
    expect(logs.pathOf('0.1')).toBeUndefined();
  });

  it('adds the failure message to a failed step log', async () => {
    const dir = path.join(await tempDir(), 'build');
    const logs = new StepLogs(dir);
    await feed(logs, recorded('multistage-failed'));
    const text = await readFile(path.join(dir, '1.2.log'), 'utf8');
    expect(text.split('\n').slice(0, 3)).toEqual(['running tests', 'test 1 ok', 'test 2 FAILED: expected 3, got 4']);
    expect(text).toMatch(/^tzbuild: step failed: .*exit code: 3$/m);
  });

  it('creates nothing for a build without output, and keeps only the newest build dirs', async () => {
    const root = await tempDir();
    const quiet = new StepLogs(newBuildLogDir(root));
    await feed(quiet, recorded('multistage-warm'));
    expect(await readdir(root)).toEqual([]);
    const names = [0, 1, 2, 3, 4].map((n) =>
      path.basename(newBuildLogDir(root, new Date(Date.UTC(2025, 0, 1, 0, 0, n)))),
    );
    for (const name of names) await mkdir(path.join(root, name));
    expect(await pruneOldBuilds(root, 2)).toEqual(names.slice(0, 3));
    expect((await readdir(root)).sort()).toEqual(names.slice(3));
  });
});

describe('--metadata-file', () => {
  it('records the image, tags and each step cache result of a cold build', async () => {
    const file = path.join(await tempDir(), 'meta.json');
    const events = recorded('multistage-cold');
    await feed(new MetadataSink(file), events);
    const meta = JSON.parse(await readFile(file, 'utf8')) as BuildMetadata;
    const done = events.at(-1) as Extract<BuildEvent, { type: 'build.done' }>;
    expect(meta).toMatchObject({
      version: 1,
      imageId: done.imageId,
      tags: ['demo:1'],
      cached: 0,
      ran: 9,
      durationMs: done.time - events[0]!.time,
    });
    expect(meta.manifestDigest).toBeUndefined(); // the recorded build.done has no manifestDigest
    expect(meta.steps.map((step) => step.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(meta.steps.filter((step) => step.result === 'base').map((step) => step.stepId)).toEqual([
      '0.0',
      '1.0',
      '2.0',
    ]);
    expect(meta.steps.find((step) => step.stepId === '0.1')).toEqual({
      stepId: '0.1',
      index: 4,
      stage: 'build',
      line: 2,
      text: 'WORKDIR /src',
      result: 'run',
      durationMs: 306,
      layerSize: 1536,
    });
  });

  it('marks cache hits with the time they saved on a rebuild', async () => {
    const file = path.join(await tempDir(), 'meta.json');
    await feed(new MetadataSink(file), recorded('multistage-warm'));
    const meta = JSON.parse(await readFile(file, 'utf8')) as BuildMetadata;
    expect(meta.steps.filter((step) => step.result === 'cached')).toHaveLength(9);
    expect(meta.steps.find((step) => step.stepId === '0.1')).toMatchObject({ result: 'cached', savedMs: 306 });
  });

  it('includes the manifest digest when build.done carries it', async () => {
    const file = path.join(await tempDir(), 'meta.json');
    const events = recorded('multistage-warm');
    const done = { ...events.at(-1)!, manifestDigest: `sha256:${'b'.repeat(64)}` } as unknown as BuildEvent;
    await feed(new MetadataSink(file), [...events.slice(0, -1), done]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ manifestDigest: `sha256:${'b'.repeat(64)}` });
  });

  it('writes nothing for a failed build', async () => {
    const dir = await tempDir();
    await feed(new MetadataSink(path.join(dir, 'meta.json')), recorded('multistage-failed'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports an unwritable file as a user error', async () => {
    const file = path.join(await tempDir(), 'missing-dir', 'meta.json');
    await expect(feed(new MetadataSink(file), recorded('multistage-warm'))).rejects.toMatchObject({
      code: 'METADATA_FILE',
    });
  });
});

describe('tee', () => {
  it('keeps feeding the other sinks when one throws, and closes them all', async () => {
    const seen: string[] = [];
    let closed = 0;
    const broken: ProgressSink = {
      emit: () => {
        throw new Error('boom');
      },
      close: async () => {
        closed += 1;
      },
    };
    const counting: ProgressSink = {
      emit: (event) => seen.push(event.type),
      close: async () => {
        closed += 1;
      },
    };
    const events = recorded('multistage-warm');
    await feed(new TeeSink([broken, counting]), events);
    expect(seen).toEqual(events.map((event) => event.type));
    expect(closed).toBe(2);
  });
});
