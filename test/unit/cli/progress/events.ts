/**
 * Recorded event streams: real `--progress=json` output of the multi-stage Dockerfiles next to
 * them in fixtures/ (built on the busybox test base): a cold build, the cached rebuild, and a
 * build whose `test` stage fails while `build` runs beside it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildEvent } from '../../../../core/ports.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export type Recording = 'multistage-cold' | 'multistage-warm' | 'multistage-failed';

/** The events of a recording, in the order the builder emitted them. */
export function recorded(name: Recording): BuildEvent[] {
  return readFileSync(path.join(fixtures, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as BuildEvent);
}

/** The events up to (and including) the first one `until` accepts. */
export function prefix(events: BuildEvent[], until: (event: BuildEvent) => boolean): BuildEvent[] {
  const end = events.findIndex(until);
  if (end < 0) throw new Error('prefix: no event matched');
  return events.slice(0, end + 1);
}

/** Deep-freezes a value so a reducer that mutates its input throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Removes ANSI escape sequences (colours, cursor movement) from terminal output. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007]*\u0007|[@-Z\\-_])/g, '');
}
