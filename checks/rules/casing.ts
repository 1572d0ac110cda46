/**
 * Casing rules (BuildKit): StageNameCasing, FromAsCasing, ConsistentInstructionCasing. All three
 * have a fix: the word is recased where it is written.
 */
import { inCaseOf, keywordEdit, wordEdit } from '../edits.js';
import type { Rule, RuleHit } from '../rule.js';
import type { CheckSubject, Entry } from '../subject.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** `FROM … AS name`: the three words, as written. */
function asClause(entry: Entry): { as: string; name: string } | undefined {
  const [, as, name] = entry.node.args;
  return entry.node.args.length === 3 && as !== undefined && name !== undefined ? { as, name } : undefined;
}

/** FROM image AS Name → AS name. */
export const stageNameCasing: Rule<{ entry: Entry; name: string }> = {
  name: 'StageNameCasing',
  docs: docs('stage-name-casing'),
  description: 'Stage names should be lowercase',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap((stage) => {
      const clause = asClause(stage.from);
      if (clause === undefined || clause.name === clause.name.toLowerCase()) return [];
      return [
        {
          line: stage.from.instruction.range.startLine,
          message: `Stage name '${clause.name}' should be lowercase`,
          detail: { entry: stage.from, name: clause.name },
        },
      ];
    }),
  fix: ({ detail }, subject) => {
    const edit = detail && wordEdit(subject, detail.entry, detail.name, detail.name.toLowerCase());
    return edit && [edit];
  },
};

/** `FROM … as x` / `from … AS x`: the AS keyword takes FROM's case (when FROM's own case is consistent). */
export const fromAsCasing: Rule<{ entry: Entry; as: string }> = {
  name: 'FromAsCasing',
  docs: docs('from-as-casing'),
  description: "The 'as' keyword should match the case of the 'from' keyword",
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap((stage) => {
      const clause = asClause(stage.from);
      const from = stage.from.node.keyword;
      if (clause === undefined || !isConsistentCase(from) || inCaseOf(from, clause.as) === clause.as) return [];
      return [
        {
          line: stage.from.instruction.range.startLine,
          message: `'${clause.as}' and '${from}' keywords' casing do not match`,
          detail: { entry: stage.from, as: clause.as },
        },
      ];
    }),
  fix: ({ detail }, subject) => {
    if (detail === undefined) return undefined;
    const edit = wordEdit(subject, detail.entry, detail.as, inCaseOf(detail.entry.node.keyword, detail.as));
    return edit && [edit];
  },
};

/** `RUN` or `run`, not `Run`. */
function isConsistentCase(word: string): boolean {
  return word === word.toUpperCase() || word === word.toLowerCase();
}

/** Every instruction of the stages (FROM included, global ARGs not: BuildKit counts stages' commands). */
function stageEntries(subject: CheckSubject): Entry[] {
  return subject.stages.flatMap((stage) => [stage.from, ...stage.steps]);
}

/** Keywords in the case most of the file uses (ties: uppercase). */
export const consistentInstructionCasing: Rule<{ entry: Entry; keyword: string }> = {
  name: 'ConsistentInstructionCasing',
  docs: docs('consistent-instruction-casing'),
  description: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const entries = stageEntries(subject);
    const consistent = entries.map((entry) => entry.node.keyword).filter(isConsistentCase);
    const lower = consistent.filter((keyword) => keyword === keyword.toLowerCase()).length;
    const majorityLower = lower > consistent.length - lower;
    return entries.flatMap((entry): RuleHit<{ entry: Entry; keyword: string }>[] => {
      const keyword = entry.node.keyword;
      const wanted = majorityLower ? keyword.toLowerCase() : keyword.toUpperCase();
      if (keyword === wanted) return [];
      return [
        {
          line: entry.instruction.range.startLine,
          message:
            `Command '${keyword}' should match the case of the command majority ` +
            `(${majorityLower ? 'lowercase' : 'uppercase'})`,
          detail: { entry, keyword: wanted },
        },
      ];
    });
  },
  fix: ({ detail }, subject) => {
    const edit = detail && keywordEdit(subject, detail.entry, detail.keyword);
    return edit && [edit];
  },
};
