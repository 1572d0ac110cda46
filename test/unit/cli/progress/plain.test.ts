import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../../core/ports.js';
import { PlainSink } from '../../../../cli/progress/plain.js';
import { StepLogs } from '../../../../cli/progress/step-logs.js';
import { recorded } from './events.js';

function renderPlain(events: BuildEvent[], logs?: StepLogs): string[] {
  let out = '';
  const sink = new PlainSink((text) => (out += text), logs);
  for (const event of events) sink.emit(event);
  return out.split('\n').slice(0, -1);
}

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('plain progress', () => {
  const cold = renderPlain(recorded('multistage-cold'));

  it('prints one line per event, without escape codes', () => {
    expect(cold.join('\n')).not.toMatch(/\u001B/);
    expect(cold[0]).toBe('building 12 steps in 3 stages');
    expect(cold).toContain('#4 [build 4/12] WORKDIR /src');
    expect(cold).toContain('#4 cache miss: no earlier build of this step');
    expect(cold).toContain('#4 DONE 306ms (layer 1.54kB)');
  });

  it('prefixes every RUN output line with its step', () => {
    for (let n = 1; n <= 8; n++) expect(cold).toContain(`#9 | compiling part ${n}`);
    expect(cold).toContain('#8 | checking');
    expect(cold).toContain('#8 | lint ok');
  });

  it('ends with the summary, image ID and tags', () => {
    expect(cold.slice(-3)).toEqual([
      '0 cached, 9 run',
      expect.stringMatching(/^image sha256:[0-9a-f]{64}$/),
      'tagged demo:1',
    ]);
  });

  it('marks cache hits and says how much time they saved', () => {
    const events = recorded('multistage-warm');
    const warm = renderPlain(events);
    const savedMs = events.reduce((sum, event) => sum + (event.type === 'step.cached' ? event.savedMs : 0), 0);
    expect(warm.filter((line) => line.endsWith(' CACHED'))).toHaveLength(9);
    expect(warm.at(-3)).toBe(`9 cached, 0 run, cache saved ${(savedMs / 1000).toFixed(1)}s`);
  });

  it('never clips a long output line', () => {
    const long = 'y'.repeat(5000);
    const lines = renderPlain([
      { type: 'step.start', time: 1, stepId: '0.1', stage: 's', index: 2, total: 2, text: 'RUN yes', line: 2 },
      { type: 'step.output', time: 2, stepId: '0.1', stream: 'stdout', line: long },
    ]);
    expect(lines.at(-1)).toBe(`#2 | ${long}`);
  });

  it('prints the failed step error and where its full output is', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-plain-'));
    dirs.push(dir);
    const logs = new StepLogs(path.join(dir, 'build-1'));
    const failed = recorded('multistage-failed');
    const sinkLines: string[] = [];
    const sink = new PlainSink((text) => sinkLines.push(text), logs);
    for (const event of failed) {
      logs.emit(event); // the CLI's tee sends events to the logs first
      sink.emit(event);
    }
    await logs.close();
    const lines = sinkLines.join('').split('\n');
    // Step 1.2 (the test stage's RUN, #8) failed first; build's RUN (#7) was stopped.
    const error = lines.findIndex((line) => line.startsWith('#8 ERROR '));
    expect(lines[error]).toContain('exit code: 3');
    expect(lines[error + 1]).toBe(`#8 full output: ${path.join(dir, 'build-1', '1.2.log')}`);
    expect(lines.filter((line) => line.startsWith('#7 ')).at(-1)).toBe(
      `#7 full output: ${path.join(dir, 'build-1', '0.2.log')}`,
    );
  });
});
