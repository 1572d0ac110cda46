/**
 * DependencyInstallAfterContextCopy (cache advice): a dependency install that re-runs because a
 * COPY before it copies source files that change. From the history: the install missed in most
 * recorded builds only because a step below it changed, and the first step that changed was a
 * COPY of changing files that are not the dependency manifests. Without enough history: an
 * install after a COPY of the whole context.
 */
import type { Rule, RuleHit } from '../rule.js';
import type { Entry, StageSubject } from '../subject.js';
import {
  changedFiles,
  historyIndex,
  minimumBuilds,
  missedOnlyForBase,
  ofBuilds,
  type HistoryIndex,
  type StepRecord,
} from './history-index.js';
import {
  copiesFromContext,
  copiesWholeContext,
  dependencyInstall,
  stepLabel,
  type DependencyInstall,
} from './steps.js';

/** Files that decide what an install installs: a change there must re-run it. */
const manifestFile = new RegExp(
  `(^|/)(${[
    'package(-lock)?\\.json|npm-shrinkwrap\\.json|yarn\\.lock|pnpm-lock\\.yaml',
    'requirements[^/]*\\.txt|pyproject\\.toml|poetry\\.lock|Pipfile(\\.lock)?',
    'go\\.(mod|sum)|Gemfile(\\.lock)?|composer\\.(json|lock)|Cargo\\.(toml|lock)|pom\\.xml|[^/]*\\.csproj',
  ].join('|')})$`,
);

export const dependencyInstallAfterContextCopy: Rule = {
  name: 'DependencyInstallAfterContextCopy',
  docs: 'docs/checks.md#dependencyinstallaftercontextcopy',
  description:
    'Copy the dependency manifests and install before copying the sources, so a source change keeps the install cached',
  severity: 'info',
  origin: 'cache',
  check: (subject) => {
    const history = historyIndex(subject);
    return subject.stages.flatMap((stage) =>
      stage.steps.flatMap((entry, index) => {
        const install = dependencyInstall(entry.instruction);
        if (install === undefined) return [];
        const before = stage.steps.slice(0, index);
        const records = history.recordsOf(entry);
        const hit =
          records.length >= minimumBuilds
            ? fromHistory(entry, install, before, records, history)
            : fromOrder(entry, install, before);
        return hit === undefined ? [] : [hit];
      }),
    );
  },
};

/** The static form: an install after `COPY . .` in its stage. */
function fromOrder(entry: Entry, install: DependencyInstall, before: StageSubject['steps']): RuleHit | undefined {
  const copy = before.find((step) => copiesWholeContext(step.instruction));
  if (copy === undefined) return undefined;
  return {
    line: entry.instruction.range.startLine,
    endLine: entry.instruction.range.endLine,
    message:
      `${stepLabel(entry.instruction)} comes after ${stepLabel(copy.instruction)}: any change in the context ` +
      `re-runs it; copy ${install.manifests} first, run the install, then copy the rest`,
  };
}

/** The history form: which COPY made the install miss, in how many builds. */
function fromHistory(
  entry: Entry,
  install: DependencyInstall,
  before: StageSubject['steps'],
  records: StepRecord[],
  history: HistoryIndex,
): RuleHit | undefined {
  const blamed = new Map<Entry, { builds: number; files: Set<string> }>();
  for (const record of records.filter(missedOnlyForBase)) {
    const cause = firstChange(before, record.build, history);
    if (cause === undefined || !copiesFromContext(cause.entry.instruction)) continue;
    const files = changedFiles(cause.record);
    // Manifests changed: the install had to run again, nothing to advise.
    if (files.length === 0 || files.every((file) => manifestFile.test(file))) continue;
    const tally = blamed.get(cause.entry) ?? { builds: 0, files: new Set<string>() };
    tally.builds += 1;
    for (const file of files.filter((name) => !manifestFile.test(name))) tally.files.add(file);
    blamed.set(cause.entry, tally);
  }
  const [copy, tally] = [...blamed].sort((a, b) => b[1].builds - a[1].builds)[0] ?? [];
  if (copy === undefined || tally === undefined || tally.builds < 2 || tally.builds * 2 < records.length)
    return undefined;
  const sample = [...tally.files].slice(0, 3).join(', ') + (tally.files.size > 3 ? ', …' : '');
  return {
    line: entry.instruction.range.startLine,
    endLine: entry.instruction.range.endLine,
    message:
      `${stepLabel(entry.instruction)} missed the cache in ${ofBuilds(tally.builds, records.length)} because ` +
      `${stepLabel(copy.instruction)} before it copies changing files (${sample}): copy ${install.manifests} ` +
      'first, run the install, then copy the rest',
  };
}

/** The earliest step of `before` that missed in `build` for a reason of its own (not just the step below). */
function firstChange(
  before: StageSubject['steps'],
  build: number,
  history: HistoryIndex,
): { entry: Entry; record: StepRecord } | undefined {
  for (const entry of before) {
    const record = history.recordsOf(entry).find((candidate) => candidate.build === build);
    if (record !== undefined && !record.step.cached && !missedOnlyForBase(record)) return { entry, record };
  }
  return undefined;
}
