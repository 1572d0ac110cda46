import { describe, expect, it } from 'vitest';
import { JsonSink } from '../../../../cli/progress/json.js';
import { recorded } from './events.js';

/** The fields docs/progress.md promises for each event type (tools rely on them). */
const SCHEMA: Record<string, string[]> = {
  'build.start': ['type', 'time', 'steps', 'stages'],
  'stage.start': ['type', 'time', 'stage'],
  'step.start': ['type', 'time', 'stepId', 'stage', 'index', 'total', 'text', 'line'],
  'step.cached': ['type', 'time', 'stepId', 'savedMs'],
  'step.miss': ['type', 'time', 'stepId', 'reason'],
  'step.output': ['type', 'time', 'stepId', 'stream', 'line'],
  'step.done': ['type', 'time', 'stepId', 'durationMs'],
  'step.failed': ['type', 'time', 'stepId', 'message'],
  'build.done': ['type', 'time', 'imageId', 'tags', 'cached', 'ran'],
};
const OPTIONAL: Record<string, string[]> = { 'step.done': ['layerSize'] };

describe('JSON progress', () => {
  it('writes each event as one JSON line that parses back to the same event', () => {
    const events = [...recorded('multistage-cold'), ...recorded('multistage-failed')];
    const lines: string[] = [];
    const sink = new JsonSink((line) => lines.push(line));
    for (const event of events) sink.emit(event);
    expect(lines).toHaveLength(events.length);
    for (const [index, line] of lines.entries()) {
      expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
      expect(JSON.parse(line)).toEqual(events[index]);
    }
  });

  it('recorded real builds match the documented schema', () => {
    const seen = new Set<string>();
    for (const event of [
      ...recorded('multistage-cold'),
      ...recorded('multistage-warm'),
      ...recorded('multistage-failed'),
    ]) {
      seen.add(event.type);
      const keys = Object.keys(event).sort();
      const required = SCHEMA[event.type]!;
      expect(keys, event.type).toEqual(expect.arrayContaining(required));
      expect(
        keys.filter((key) => !required.includes(key) && !(OPTIONAL[event.type] ?? []).includes(key)),
        event.type,
      ).toEqual([]);
    }
    expect([...seen].sort()).toEqual(Object.keys(SCHEMA).sort());
  });
});
