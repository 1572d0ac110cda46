/**
 * The store's cache history (core/ports.ts BuildHistoryEntry) matched to the Dockerfile as it is
 * now: a recorded step belongs to a current step when it sits in the same stage and its
 * instruction text is the same (by hash, and by occurrence when a stage repeats an instruction),
 * so the history survives lines moving. A step whose text changed starts a new history.
 */
import { instructionHash } from '../../builder/build-history.js';
import type { StepHistory } from '../../core/ports.js';
import type { CheckSubject, Entry } from '../subject.js';

/** A step's history is worth advice once it covers this many builds. */
export const minimumBuilds = 3;

/** One recorded build of one step. */
export interface StepRecord {
  /** Position of the build in the history (0: oldest). */
  build: number;
  step: StepHistory;
}

/** The history, by current step. */
export interface HistoryIndex {
  /** Builds in the history. */
  builds: number;
  /** The builds of `entry`, oldest first (none for a FROM or an unknown entry). */
  recordsOf(entry: Entry): StepRecord[];
}

const indexed = new WeakMap<CheckSubject, HistoryIndex>();

/** The history index of `subject` (built once per subject). */
export function historyIndex(subject: CheckSubject): HistoryIndex {
  const known = indexed.get(subject);
  if (known !== undefined) return known;
  const byKey = new Map<string, StepRecord[]>();
  subject.history.forEach((build, position) => {
    const seen = new Map<string, number>();
    for (const step of build.steps) {
      const key = occurrenceKey(seen, step.stepId.split('.')[0] ?? '', step.instructionHash);
      byKey.set(key, [...(byKey.get(key) ?? []), { build: position, step }]);
    }
  });
  const keyOf = new Map<Entry, string>();
  for (const stage of subject.stages) {
    const seen = new Map<string, number>();
    for (const entry of stage.steps)
      keyOf.set(entry, occurrenceKey(seen, String(stage.index), instructionHash(entry.instruction.original)));
  }
  const index: HistoryIndex = {
    builds: subject.history.length,
    recordsOf: (entry) => byKey.get(keyOf.get(entry) ?? '') ?? [],
  };
  indexed.set(subject, index);
  return index;
}

/** `stage|hash|n`: the n-th instruction of that text in the stage. */
function occurrenceKey(seen: Map<string, number>, stage: string, hash: string): string {
  const base = `${stage}|${hash}`;
  const occurrence = seen.get(base) ?? 0;
  seen.set(base, occurrence + 1);
  return `${base}|${occurrence}`;
}

/** A miss that only the step below changed (`a step before it changed`), nothing of its own. */
export function missedOnlyForBase(record: StepRecord): boolean {
  const changed = record.step.changed ?? [];
  return !record.step.cached && changed.length > 0 && changed.every((name) => name === 'base');
}

/**
 * The context files a recorded miss names as changed (`file:P` inputs), context-relative: the
 * step cache names them as the COPY's source does (`./src/a.js` for `COPY . …`).
 */
export function changedFiles(record: StepRecord): string[] {
  return (record.step.changed ?? [])
    .filter((name) => name.startsWith('file:'))
    .map((name) => name.slice(5).replace(/^(\.?\/)+/, ''));
}

/** `9 of the last 10 builds` (or `of the last build`). */
export function ofBuilds(count: number, builds: number): string {
  return `${count} of the last ${builds} build${builds === 1 ? '' : 's'}`;
}
