import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../../core/ports.js';
import { TtySink } from '../../../../cli/progress/tty-sink.js';
import { PlainSink } from '../../../../cli/progress/plain.js';
import { repoRoot } from '../../../helpers/paths.js';
import { recorded, stripAnsi } from './events.js';

/** A terminal of `columns` × `rows` that records every write. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly writes: string[] = [];
  constructor(
    readonly columns = 100,
    readonly rows = 30,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.writes.push(chunk.toString());
    done();
  }
  get text(): string {
    return stripAnsi(this.writes.join(''));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Ink draws only its last frame when it sees CI set (is-in-ci, read when Ink is imported, which
// these tests do lazily): the live frames under test need an interactive terminal's behaviour.
const ciBefore = process.env.CI;
beforeAll(() => {
  delete process.env.CI;
});
afterAll(() => {
  if (ciBefore !== undefined) process.env.CI = ciBefore;
});

/** Waits until `condition` holds (checked every 20 ms), failing after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the terminal');
    await sleep(20);
  }
}

/** A TTY sink whose live display starts at the first event (these tests exercise Ink). */
function ttySink(terminal: FakeTerminal, liveAfterMs = 0): TtySink {
  return new TtySink({
    stream: terminal as unknown as NodeJS.WriteStream,
    liveAfterMs,
    fallback: (write) => new PlainSink(write),
  });
}

describe('TTY sink (Ink, loaded on first event)', () => {
  it('renders a recorded build: each finished step printed once, then the summary last', async () => {
    const terminal = new FakeTerminal();
    const sink = ttySink(terminal);
    const events = recorded('multistage-warm');
    for (const event of events) sink.emit(event);
    await sink.close();
    const text = terminal.text;
    for (let index = 1; index <= 12; index++) {
      expect(
        text.split('\n').filter((line) => line.startsWith(` ${index <= 3 ? '✔' : '≡'} #${index} [`)),
        `#${index}`,
      ).toHaveLength(1);
    }
    const done = events.at(-1) as Extract<BuildEvent, { type: 'build.done' }>;
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('   tags     demo:1');
    expect(lines.at(-2)).toBe(`   image    ${done.imageId}`);
    expect(lines.at(-3)).toMatch(/^ ✔ built in .*: 9 cached, 0 run · cache saved/);
  });

  it('throttles redraws: a flood of output lines costs a few frames, not one per line', async () => {
    const terminal = new FakeTerminal();
    const sink = ttySink(terminal);
    const start = Date.now();
    sink.emit({ type: 'build.start', time: start, steps: 1, stages: 1 });
    sink.emit({
      type: 'step.start',
      time: start,
      stepId: '0.1',
      stage: 'app',
      index: 1,
      total: 1,
      text: 'RUN noisy',
      line: 1,
    });
    sink.emit({ type: 'step.miss', time: start, stepId: '0.1', reason: 'no earlier build of this step' });
    // The dynamic import and the first frame (slow on a loaded machine: wait for it, not a fixed time).
    await until(() => terminal.writes.length > 0);
    const before = terminal.writes.length;
    const flooded = Date.now();
    for (let n = 1; n <= 5000; n++)
      sink.emit({ type: 'step.output', time: Date.now(), stepId: '0.1', stream: 'stdout', line: `line ${n}` });
    await until(() => terminal.text.includes('│ line 5000'));
    // Frames per 100 ms tick at most, whatever the number of lines.
    const frames = terminal.writes.length - before;
    expect(frames).toBeLessThanOrEqual(Math.ceil((Date.now() - flooded) / 100) + 3);
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(20);
    // The pane shows the newest lines only.
    expect(terminal.text).toContain('│ line 5000');
    expect(terminal.text).not.toContain('│ line 4000\n');
    await sink.close();
  });

  it('draws nothing when no event arrived (a build that failed before starting)', async () => {
    const terminal = new FakeTerminal();
    await ttySink(terminal).close();
    expect(terminal.writes).toEqual([]);
  });

  it('leaves the failed build final frame on screen, with nothing written after close', async () => {
    const terminal = new FakeTerminal();
    const sink = ttySink(terminal);
    for (const event of recorded('multistage-failed')) sink.emit(event);
    await sink.close();
    const count = terminal.writes.length;
    await sleep(250); // no ticker may redraw (and erase what the CLI prints next) after close
    expect(terminal.writes.length).toBe(count);
    const lines = terminal.text.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^ {3}\d+\/9 steps finished · 2 cached · \d+\.\ds$/);
    expect(lines.some((line) => line.includes('│ test 2 FAILED: expected 3, got 4'))).toBe(true);
  });
});

describe('a build that ends before the live display starts', () => {
  it('prints the same final frame without Ink: no cursor movement, every step once, the summary last', async () => {
    const fast = new FakeTerminal();
    const sink = ttySink(fast, 10_000);
    for (const event of recorded('multistage-warm')) sink.emit(event);
    await sink.close();
    const raw = fast.writes.join('');
    // Ink redraws by erasing lines (ESC[2K, ESC[1A); a static frame only colours text.
    expect(raw).not.toMatch(/\u001b\[\d*[AK]/);
    const inked = new FakeTerminal();
    const live = ttySink(inked, 0);
    for (const event of recorded('multistage-warm')) live.emit(event);
    await sleep(1000);
    await live.close();
    const finishedLines = (text: string) =>
      text
        .split('\n')
        .filter((line) => /^ [✔≡✘] #\d+ /.test(line))
        .sort();
    expect(finishedLines(fast.text)).toEqual(finishedLines(inked.text));
    expect(fast.text.trimEnd().split('\n').at(-1)).toMatch(/^ {3}tags /);
  });
});

describe('lazy loading', () => {
  /** Files reachable from `entry` through static imports (not `import()`), repo-relative. */
  function staticImports(entry: string): { files: Set<string>; packages: Set<string> } {
    const files = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (files.has(file)) return;
      files.add(file);
      const source = readFileSync(path.join(repoRoot, file), 'utf8');
      for (const match of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)) {
        const spec = match[1]!;
        if (!spec.startsWith('.')) {
          packages.add(spec);
          continue;
        }
        const target = path.join(path.dirname(file), spec).replace(/\.js$/, '');
        visit([`${target}.ts`, `${target}.tsx`].find((candidate) => existsIn(candidate))!);
      }
    };
    visit(entry);
    return { files, packages };
  }
  const existsIn = (file: string) => {
    try {
      readFileSync(path.join(repoRoot, file));
      return true;
    } catch {
      return false;
    }
  };

  it('the CLI does not import Ink or React until the TUI is used', () => {
    // cli/main.ts loads each command's module when it runs; the build command is what starts a TUI.
    const { files, packages } = staticImports('cli/commands/build.ts');
    expect(files.has('cli/progress/tty-sink.ts')).toBe(true);
    expect(files.has('cli/progress/tui/ink-sink.tsx')).toBe(false);
    expect([...packages].filter((name) => name === 'ink' || name === 'react' || name.startsWith('react/'))).toEqual([]);
    expect(readFileSync(path.join(repoRoot, 'cli/progress/tty-sink.ts'), 'utf8')).toContain(
      "import('./tui/ink-sink.js')",
    );
  });
});
