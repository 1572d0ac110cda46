/**
 * UnignoredChangingFiles (cache advice): a COPY of the whole context that copies files which
 * change between builds and which no later step needs (a VCS directory, dependencies a later RUN
 * installs anew, caches, logs, editor files). From the history: those files changed in most
 * recorded builds of the COPY. Without enough history: such names are in the context and the
 * ignore file does not exclude them.
 */
import type { Instruction } from '../../builder/instructions.js';
import type { Rule, RuleHit } from '../rule.js';
import type { CheckSubject, Entry } from '../subject.js';
import { changedFiles, historyIndex, minimumBuilds, type StepRecord } from './history-index.js';
import { copiesWholeContext, dependencyInstall, mentions, stepLabel } from './steps.js';

/** Names that never belong in an image: version control, caches, editor and OS files, logs. */
const alwaysJunk = new RegExp(
  `^(${[
    '\\.git|\\.hg|\\.svn',
    '__pycache__|\\.pytest_cache|\\.mypy_cache|\\.tox|\\.nyc_output|coverage',
    '\\.idea|\\.vscode|\\.DS_Store|.*\\.log',
  ].join('|')})$`,
);
/** Dependency directories, junk when a later step installs them anew. */
const reinstalled: Record<string, readonly string[]> = {
  node_modules: ['npm', 'yarn', 'pnpm'],
  '.venv': ['pip', 'poetry', 'pipenv'],
  venv: ['pip', 'poetry', 'pipenv'],
};

export const unignoredChangingFiles: Rule = {
  name: 'UnignoredChangingFiles',
  docs: 'docs/checks.md#unignoredchangingfiles',
  description: 'Keep files that change every build but are not needed out of the context with .dockerignore',
  severity: 'info',
  origin: 'cache',
  check: (subject) => {
    const history = historyIndex(subject);
    return subject.stages.flatMap((stage) =>
      stage.steps.flatMap((entry, index) => {
        if (!copiesWholeContext(entry.instruction)) return [];
        const later = [
          ...stage.steps.slice(index + 1),
          ...subject.stages.slice(stage.index + 1).flatMap((next) => next.steps),
        ].map((step) => step.instruction);
        const records = history.recordsOf(entry);
        const hit =
          records.length >= minimumBuilds ? fromHistory(entry, records, later) : fromContext(subject, entry, later);
        return hit === undefined ? [] : [hit];
      }),
    );
  },
};

/** A top-level context name no later step needs and that changes on its own. */
function unneeded(name: string, later: readonly Instruction[]): boolean {
  const bare = name.replace(/^\./, '');
  if (later.some((instruction) => mentions(instruction, name) || mentions(instruction, bare))) return false;
  if (alwaysJunk.test(name)) return true;
  const tools = reinstalled[name];
  return tools !== undefined && later.some((instruction) => tools.includes(dependencyInstall(instruction)?.tool ?? ''));
}

/** `.git/` for a directory, `app.log` for a file. */
function shown(name: string, isDirectory: boolean): string {
  return isDirectory ? `${name}/` : name;
}

function fromContext(subject: CheckSubject, entry: Entry, later: readonly Instruction[]): RuleHit | undefined {
  const names = (subject.contextNames ?? []).filter((shownName) => {
    const name = shownName.replace(/\/$/, '');
    return unneeded(name, later) && !(subject.ignore?.matches(name) ?? false);
  });
  if (names.length === 0) return undefined;
  return {
    line: entry.instruction.range.startLine,
    endLine: entry.instruction.range.endLine,
    message:
      `${stepLabel(entry.instruction)} copies ${names.join(', ')} from the context: such files change between ` +
      'builds without being needed in the image, and re-run this step and all after it; add them to .dockerignore',
  };
}

function fromHistory(entry: Entry, records: StepRecord[], later: readonly Instruction[]): RuleHit | undefined {
  // Per top-level name: in how many builds something under it changed.
  const builds = new Map<string, { count: number; directory: boolean }>();
  for (const record of records) {
    const tops = new Map(changedFiles(record).map((file) => [file.split('/')[0] ?? file, file.includes('/')]));
    for (const [top, directory] of tops) {
      const seen = builds.get(top);
      builds.set(top, { count: (seen?.count ?? 0) + 1, directory: directory || (seen?.directory ?? false) });
    }
  }
  const frequent = [...builds]
    .filter(([name, { count }]) => count >= 2 && count * 2 >= records.length && unneeded(name, later))
    .sort((a, b) => b[1].count - a[1].count);
  if (frequent.length === 0) return undefined;
  const list = frequent
    .slice(0, 3)
    .map(([name, { count, directory }]) => `${shown(name, directory)} in ${count} of ${records.length}`)
    .join(', ');
  return {
    line: entry.instruction.range.startLine,
    endLine: entry.instruction.range.endLine,
    message:
      `${stepLabel(entry.instruction)} copies files that changed in most of the last ${records.length} builds ` +
      `(${list}) and that no later step needs: add them to .dockerignore`,
  };
}
