import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { BuildView, type BuildViewProps } from '../../../../../cli/progress/tui/app.js';
import { replayView } from '../../../../../cli/progress/view-state.js';
import type { BuildEvent } from '../../../../../core/ports.js';
import { prefix, recorded, stripAnsi } from '../events.js';

afterEach(() => cleanup());

/** The frame the view shows for `events`, at `now` ms after the last event. */
function frame(events: BuildEvent[], props: Partial<BuildViewProps> = {}, after = 1500): string[] {
  const state = replayView(events);
  const now = events.at(-1)!.time + after;
  const { lastFrame } = render(
    createElement(BuildView, { state, now, columns: 100, rows: 40, final: false, ...props }),
  );
  return stripAnsi(lastFrame() ?? '').split('\n');
}

const cold = recorded('multistage-cold');
/** The moment both RUNs run side by side and stage-2 waits for them. */
const midBuild = prefix(
  cold,
  (event) => event.type === 'step.output' && event.stepId === '0.3' && event.line === 'compiling part 8',
);

describe('TUI frames', () => {
  it('mid-build: header with progress, each running stage with spinner, elapsed time and an output pane', () => {
    const lines = frame(midBuild);
    expect(lines.find((line) => line.includes('tzbuild'))).toMatch(
      /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] tzbuild 7\/12 steps · 0 cached · \d+\.\ds$/,
    );
    expect(lines).toContain('▸ build');
    // stage-2 only waits for build: a compact line, not a block of its own.
    expect(lines).not.toContain('▸ stage-2');
    const run = lines.find((line) => line.includes('#9 [build] RUN for i in'))!;
    expect(run).toMatch(/^ [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] #9 \[build\] RUN .*\s2\.\ds$/);
    expect(lines.find((line) => line.includes('#6 [stage-2] COPY --from=build'))).toMatch(/waiting$/);
    // A bounded pane: the last 6 of the 8 lines, nothing more.
    const pane = lines.filter((line) => line.includes('│ compiling part'));
    expect(pane.map((line) => line.trim())).toEqual([3, 4, 5, 6, 7, 8].map((n) => `│ compiling part ${n}`));
  });

  it('mid-build: finished steps are printed once above, with duration and layer size', () => {
    const lines = frame(midBuild);
    expect(lines.find((line) => line.includes('#4 [build] WORKDIR /src'))).toMatch(
      /^ ✔ #4 \[build\] WORKDIR \/src\s+306ms {2}1\.54kB$/,
    );
    expect(lines.find((line) => line.includes('#8 [lint]'))).toMatch(/✔ .*450ms$/);
    expect(lines.filter((line) => line.includes('#4 [build]'))).toHaveLength(1);
  });

  it('shows two running stages side by side when the terminal is wide enough', () => {
    const bothRunning = prefix(cold, (event) => event.type === 'step.output' && event.stepId === '1.2');
    const lines = frame(bothRunning, { columns: 100 });
    const titles = lines.find((line) => line.includes('▸ build'))!;
    expect(titles).toMatch(/▸ build\s+▸ lint/);
    expect(lines.find((line) => line.includes('tzbuild'))).toContain('2 stages in parallel');
  });

  it('final frame of a rebuild: every step CACHED and the summary', () => {
    const warm = recorded('multistage-warm');
    const lines = frame(warm, { final: true });
    const cachedLines = lines.filter((line) => /^ ≡ #\d+ \[/.test(line));
    expect(cachedLines).toHaveLength(9);
    expect(lines.find((line) => line.includes('#4 [build] WORKDIR'))).toMatch(/CACHED \(saved 306ms\)$/);
    const done = warm.at(-1) as Extract<BuildEvent, { type: 'build.done' }>;
    const summary = lines.slice(lines.findIndex((line) => line.includes('✔ built in')));
    expect(summary[0]).toMatch(/^ ✔ built in \d+\.\ds: 9 cached, 0 run · cache saved \d+(\.\d)?s$/);
    expect(summary).toContain(`   image    ${done.imageId}`);
    expect(summary).toContain('   tags     demo:1');
    expect(lines.some((line) => line.includes('tzbuild ') && line.includes('steps ·'))).toBe(false);
  });

  it('final frame of a failed build: the failed step with its output tail and log, then where it failed', () => {
    const lines = frame(recorded('multistage-failed'), { final: true, logPathOf: (id) => `/logs/${id}.log` });
    const failed = lines.findIndex((line) => line.startsWith(' ✘ #8 [test] RUN echo "running tests"'));
    expect(failed).toBeGreaterThanOrEqual(0);
    expect(lines[failed]).toMatch(/FAILED after 0\.\ds$/);
    const tail = lines.slice(failed).filter((line) => line.trimStart().startsWith('│ '));
    expect(tail.map((line) => line.trim())).toEqual([
      '│ running tests',
      '│ test 1 ok',
      '│ test 2 FAILED: expected 3, got 4',
    ]);
    expect(lines).toContain('    full output: /logs/1.2.log');
    expect(lines.find((line) => line.includes('#7 [build] RUN echo "building"'))).toMatch(/^ ⊘ .*cancelled$/);
    expect(lines.find((line) => line.startsWith(' ✘ build failed at #8 [test] RUN'))).toBeDefined();
    expect(lines.at(-1)).toBe('   full output: /logs/1.2.log');
  });

  it('in a short terminal, panes shrink so the live area never fills the screen', () => {
    const state = replayView(midBuild);
    const now = midBuild.at(-1)!.time + 500;
    const live = (rows: number) => {
      const { lastFrame } = render(createElement(BuildView, { state, now, columns: 60, rows, final: false }));
      const lines = stripAnsi(lastFrame() ?? '').split('\n');
      cleanup();
      return lines.slice(lines.findIndex((line) => line.includes('tzbuild')));
    };
    const pane = (lines: string[]) => lines.filter((line) => line.includes('│ compiling part')).length;
    expect(pane(live(40))).toBe(6);
    const short = live(9);
    expect(pane(short)).toBe(3);
    expect(short.length).toBeLessThanOrEqual(9 - 1);
    expect(short.find((line) => line.includes('#6 [stage-2]'))).toMatch(/waiting$/);
  });
});
