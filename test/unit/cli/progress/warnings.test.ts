/**
 * The build checks' "N warnings" summary (a `build.warnings` event after build.done) in every
 * display: plain lines, JSON lines, and the TUI's final frame, drawn by Ink and without it.
 */
import { createElement } from 'react';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonSink } from '../../../../cli/progress/json.js';
import { PlainSink } from '../../../../cli/progress/plain.js';
import { renderStaticFrame } from '../../../../cli/progress/static-frame.js';
import { BuildView } from '../../../../cli/progress/tui/app.js';
import { replayView } from '../../../../cli/progress/view-state.js';
import { warningLines } from '../../../../cli/progress/warnings.js';
import type { BuildEvent, BuildWarning } from '../../../../core/ports.js';
import { recorded, stripAnsi } from './events.js';

afterEach(() => cleanup());

const warnings: BuildWarning[] = [
  { rule: 'JSONArgsRecommended', line: 9, message: 'JSON arguments recommended for CMD' },
  { rule: 'LegacyKeyValueFormat', line: 4, message: '"ENV key=value" should be used' },
];
const warm = recorded('multistage-warm');
const withWarnings: BuildEvent[] = [...warm, { type: 'build.warnings', time: warm.at(-1)!.time, warnings }];

const expected = [
  '2 warnings from the build checks (tzbuild check shows the details):',
  '  JSONArgsRecommended (line 9): JSON arguments recommended for CMD',
  '  LegacyKeyValueFormat (line 4): "ENV key=value" should be used',
];

describe('the build checks summary', () => {
  it('lists a few findings and counts the rest', () => {
    expect(warningLines(warnings)).toEqual(expected);
    const many = Array.from({ length: 7 }, (_, n) => ({ rule: 'R', line: n + 1, message: 'm' }));
    expect(warningLines(many).at(-1)).toBe('  … and 2 more');
    expect(warningLines([{ rule: 'R', line: 1, message: 'm' }])[0]).toMatch(/^1 warning from/);
    expect(warningLines([])).toEqual([]);
  });

  it('ends the plain output, after the image', () => {
    let out = '';
    const sink = new PlainSink((text) => (out += text));
    for (const event of withWarnings) sink.emit(event);
    const lines = out.trimEnd().split('\n');
    expect(lines.slice(-3)).toEqual(expected);
    expect(lines.at(-4)).toMatch(/^tagged /);
  });

  it('is one JSON line of its own', () => {
    const lines: string[] = [];
    const sink = new JsonSink((line) => lines.push(line));
    for (const event of withWarnings) sink.emit(event);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'build.warnings', warnings });
  });

  it('ends the TUI final frame, with Ink and without', () => {
    const state = replayView(withWarnings);
    expect(state.warnings).toEqual(warnings);
    const now = warm.at(-1)!.time;
    const { lastFrame } = render(createElement(BuildView, { state, now, columns: 100, rows: 40, final: true }));
    const inked = stripAnsi(lastFrame() ?? '').split('\n');
    const plain = stripAnsi(renderStaticFrame(state, 100, now))
      .trimEnd()
      .split('\n');
    for (const lines of [inked, plain]) {
      expect(lines.at(-3)).toBe(` ⚠ ${expected[0]}`);
      expect(lines.slice(-2).map((line) => line.trim())).toEqual(expected.slice(1).map((line) => line.trim()));
    }
  });
});
