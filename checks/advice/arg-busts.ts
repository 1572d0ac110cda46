/**
 * ArgBustsRunCache (cache advice): an ARG is part of the environment of every RUN after it, so a
 * value that changes from build to build (a date, a commit) re-runs all of them, also those that
 * never use it. From the history: the ARG's value changed in most recorded builds and RUN steps
 * re-ran for it. Without enough history: an ARG whose name says it changes every build
 * (`BUILD_DATE`, `GIT_COMMIT` …) with RUN steps after it that do not use it.
 */
import type { ArgInstruction } from '../../builder/instructions.js';
import type { Rule, RuleHit } from '../rule.js';
import type { Entry, StageSubject } from '../subject.js';
import { historyIndex, minimumBuilds, ofBuilds, type HistoryIndex } from './history-index.js';
import { stepLabel } from './steps.js';

/** Names of values that change on every build. */
const volatileName = new RegExp(
  `^(${[
    'BUILD_?(DATE|TIME|TIMESTAMP|NUMBER|ID)',
    '(GIT_)?(COMMIT|SHA)(_SHA)?',
    '(GIT|VCS|SOURCE)_(REF|COMMIT|SHA|REVISION)',
    'REVISION|TIMESTAMP|DATE|NOW|CACHE_?BUST',
    'CI_PIPELINE_ID|GITHUB_RUN_ID|GITHUB_SHA',
  ].join('|')})$`,
  'i',
);

export const argBustsRunCache: Rule = {
  name: 'ArgBustsRunCache',
  docs: 'docs/checks.md#argbustsruncache',
  description: 'Declare an ARG whose value changes every build right before the step that uses it',
  severity: 'info',
  origin: 'cache',
  check: (subject) => {
    const history = historyIndex(subject);
    return subject.stages.flatMap((stage) =>
      stage.steps.flatMap((entry, index) => {
        if (entry.instruction.kind !== 'arg') return [];
        const runs = stage.steps.slice(index + 1).filter((step) => step.instruction.kind === 'run');
        if (runs.length === 0) return [];
        return entry.instruction.args.flatMap((decl) => {
          const hit = adviceFor(entry as Entry<ArgInstruction>, decl.key, runs, history);
          return hit === undefined ? [] : [hit];
        });
      }),
    );
  },
};

function adviceFor(arg: Entry<ArgInstruction>, name: string, runs: StageSubject['steps'], history: HistoryIndex) {
  const unused = runs.filter((run) => !usesVariable(run, name)).length;
  if (unused === 0) return undefined;
  const covered = Math.max(...runs.map((run) => history.recordsOf(run).length));
  if (covered < minimumBuilds) return volatileName.test(name) ? fromName(arg, name, runs.length, unused) : undefined;
  // Per build: how many of the RUN steps after the ARG re-ran because its value changed.
  const reran = new Map<number, number>();
  for (const run of runs) {
    for (const record of history.recordsOf(run)) {
      if (!record.step.cached && (record.step.changed ?? []).includes(`arg:${name}`))
        reran.set(record.build, (reran.get(record.build) ?? 0) + 1);
    }
  }
  if (reran.size < 2 || reran.size * 2 < covered) return undefined;
  const most = Math.max(...reran.values());
  return hitAt(
    arg,
    `ARG ${name} (line ${arg.instruction.range.startLine}) busts every RUN after it: its value changed in ` +
      `${ofBuilds(reran.size, covered)}, re-running up to ${most} RUN step${most === 1 ? '' : 's'} each time ` +
      `(${doNotUse(unused)}); ${placeAdvice(runs, name)}`,
  );
}

function fromName(arg: Entry<ArgInstruction>, name: string, runs: number, unused: number): RuleHit {
  return hitAt(
    arg,
    `ARG ${name} (line ${arg.instruction.range.startLine}) is in the environment of the ${runs} RUN ` +
      `step${runs === 1 ? '' : 's'} after it (${doNotUse(unused)}): a value that changes every build ` +
      're-runs them all; declare it just before the first step that uses it',
  );
}

/** `1 of them does not use it`, `3 of them do not use it`. */
function doNotUse(count: number): string {
  return `${count} of them ${count === 1 ? 'does' : 'do'} not use it`;
}

function placeAdvice(runs: StageSubject['steps'], name: string): string {
  const user = runs.find((run) => usesVariable(run, name));
  return user === undefined
    ? 'declare it just before the first instruction that uses it'
    : `declare it just before ${stepLabel(user.instruction)}`;
}

function hitAt(arg: Entry<ArgInstruction>, message: string): RuleHit {
  return { line: arg.instruction.range.startLine, endLine: arg.instruction.range.endLine, message };
}

/** `$NAME` or `${NAME…}` in the step's text (its heredocs included). */
function usesVariable(entry: Entry, name: string): boolean {
  const heredocs = 'heredocs' in entry.instruction ? entry.instruction.heredocs.map((heredoc) => heredoc.content) : [];
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\$(\\{)?${escaped}\\b`).test([entry.instruction.original, ...heredocs].join('\n'));
}
