/**
 * Instruction form rules (BuildKit): NoEmptyContinuation, MaintainerDeprecated,
 * LegacyKeyValueFormat, JSONArgsRecommended, MultipleInstructionsDisallowed. The first two of the
 * rewrites below are always mechanical; the JSON form of CMD/ENTRYPOINT only where it cannot
 * change what runs besides the shell going away (see jsonFormFix).
 */
import type { EnvInstruction, LabelInstruction, MaintainerInstruction } from '../../builder/instructions.js';
import { parseWords } from '../../builder/parse/index.js';
import { inCaseOf, instructionEdit } from '../edits.js';
import type { Rule, RuleHit } from '../rule.js';
import { stageScopes } from '../stage-scope.js';
import type { CheckSubject, Entry, StageSubject } from '../subject.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** Blank lines inside a continuation (the parser's warnings). */
export const noEmptyContinuation: Rule = {
  name: 'NoEmptyContinuation',
  docs: docs('no-empty-continuation'),
  description: 'Empty continuation lines will become errors in a future release',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.parseWarnings.map((warning) => {
      // The parser names the line the instruction ends on; the finding covers the instruction.
      const range = subject.entries.find(
        ({ instruction }) => instruction.range.startLine <= warning.line && warning.line <= instruction.range.endLine,
      )?.instruction.range;
      return {
        line: range?.startLine ?? warning.line,
        endLine: range?.endLine ?? warning.line,
        message: 'Empty continuation line',
      };
    }),
};

/** MAINTAINER x → LABEL org.opencontainers.image.authors="x". */
export const maintainerDeprecated: Rule<Entry<MaintainerInstruction>> = {
  name: 'MaintainerDeprecated',
  docs: docs('maintainer-deprecated'),
  description: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.entries.flatMap((entry) =>
      entry.instruction.kind === 'maintainer'
        ? [
            {
              line: entry.instruction.range.startLine,
              endLine: entry.instruction.range.endLine,
              message: 'Maintainer instruction is deprecated in favor of using label',
              detail: entry as Entry<MaintainerInstruction>,
            },
          ]
        : [],
    ),
  fix: ({ detail: entry }, subject) => {
    if (entry === undefined) return undefined;
    const value = quoted(entry.instruction.maintainer, subject.escapeToken);
    const edit = instructionEdit(
      subject,
      entry,
      `${inCaseOf(entry.node.keyword, 'LABEL')} org.opencontainers.image.authors=${value}`,
    );
    return edit && [edit];
  },
};

/** `"text"`, with what a double-quoted Dockerfile word would expand or end escaped. */
function quoted(text: string, escapeToken: string): string {
  const special = new Set(['"', '$', escapeToken]);
  return `"${[...text].map((ch) => (special.has(ch) ? `${escapeToken}${ch}` : ch)).join('')}"`;
}

type KeyValueEntry = Entry<EnvInstruction | LabelInstruction>;

/** `ENV key value` → `ENV key=value` (LABEL too). */
export const legacyKeyValueFormat: Rule<KeyValueEntry> = {
  name: 'LegacyKeyValueFormat',
  docs: docs('legacy-key-value-format'),
  description: 'Legacy key/value format with whitespace separator should not be used',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.entries.flatMap((entry) => {
      const { instruction } = entry;
      if (instruction.kind !== 'env' && instruction.kind !== 'label') return [];
      if (!instruction.pairs.some((pair) => pair.legacy)) return [];
      const name = instruction.kind.toUpperCase();
      return [
        {
          line: instruction.range.startLine,
          endLine: instruction.range.endLine,
          message: `"${name} key=value" should be used instead of legacy "${name} key value" format`,
          detail: entry as KeyValueEntry,
        },
      ];
    }),
  fix: ({ detail: entry }, subject) => {
    const pair = entry?.instruction.pairs[0];
    if (entry === undefined || pair === undefined) return undefined;
    const value = sameWordValue(pair.value, subject.escapeToken);
    const edit =
      value === undefined ? undefined : instructionEdit(subject, entry, `${entry.node.keyword} ${pair.key}=${value}`);
    return edit && [edit];
  },
};

/**
 * A legacy value written so that, after `key=`, it is one word that expands to the same text: as
 * it is when it has no unquoted whitespace, in double quotes when it has some but no quote or
 * escape character (they would change meaning inside quotes); undefined otherwise.
 */
function sameWordValue(value: string, escapeToken: string): string | undefined {
  const words = parseWords(value, escapeToken);
  if (words.length === 1 && words[0] === value) return value;
  if (/["']/.test(value) || value.includes(escapeToken) || value.trim() !== value) return undefined;
  return `"${value}"`;
}

const instructionName = { cmd: 'CMD', entrypoint: 'ENTRYPOINT', healthcheck: 'HEALTHCHECK' } as const;

/** Shell-form CMD and ENTRYPOINT (unless a SHELL was set: then the shell form is deliberate). */
export const jsonArgsRecommended: Rule<{ entry: Entry; stage: StageSubject; words: string[] | undefined }> = {
  name: 'JSONArgsRecommended',
  docs: docs('json-args-recommended'),
  description: 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const scopes = stageScopes(subject);
    return subject.stages.flatMap((stage) =>
      stage.steps.flatMap((entry, index) => {
        const { instruction } = entry;
        if (instruction.kind !== 'cmd' && instruction.kind !== 'entrypoint') return [];
        if (instruction.command.json || scopes[stage.index]?.before[index]?.shell) return [];
        const name = instructionName[instruction.kind];
        return [
          {
            line: instruction.range.startLine,
            endLine: instruction.range.endLine,
            message: `JSON arguments recommended for ${name} to prevent unintended behavior related to OS signals`,
            detail: { entry, stage, words: plainWords(instruction.command.args[0] ?? '') },
          },
        ];
      }),
    );
  },
  fix: (hit, subject) => jsonFormFix(hit, subject),
};

/** The words of a command that a shell would pass on unchanged (no quoting, expansion, globbing, operators). */
function plainWords(command: string): string[] | undefined {
  const words = command.trim().split(/[ \t]+/);
  if (words.length === 0 || words[0] === '' || (words[0] ?? '').includes('=')) return undefined;
  return words.every((word) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) ? words : undefined;
}

/**
 * Exec form for a command of plain words, where the shell's absence is the only change: a CMD
 * with no ENTRYPOINT in effect (none in the stage, none in the base image as the store shows it:
 * the shell form's `/bin/sh -c …` would otherwise be what the ENTRYPOINT receives), an ENTRYPOINT
 * with no CMD after it and no stage built FROM its stage (exec form would append their CMD).
 */
function jsonFormFix(
  { detail }: RuleHit<{ entry: Entry; stage: StageSubject; words: string[] | undefined }>,
  subject: CheckSubject,
) {
  if (detail?.words === undefined) return undefined;
  const { entry, stage, words } = detail;
  const position = stage.steps.indexOf(entry);
  const later = stage.steps.slice(position + 1).map((step) => step.instruction.kind);
  if (entry.instruction.kind === 'cmd') {
    const scope = stageScopes(subject)[stage.index];
    if (scope?.end.entrypoint !== 'none') return undefined;
  } else {
    const inherited = subject.stages.some((other) => other.base.kind === 'stage' && other.base.index === stage.index);
    if (later.includes('cmd') || inherited) return undefined;
  }
  const edit = instructionEdit(
    subject,
    entry,
    `${entry.node.keyword} [${words.map((word) => JSON.stringify(word)).join(', ')}]`,
  );
  return edit && [edit];
}

/** A second CMD, ENTRYPOINT or HEALTHCHECK in a stage: the earlier one is reported (only the last counts). */
export const multipleInstructionsDisallowed: Rule = {
  name: 'MultipleInstructionsDisallowed',
  docs: docs('multiple-instructions-disallowed'),
  description: 'Multiple instructions of the same type should not be used in the same stage',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap((stage) =>
      stage.steps.flatMap(({ instruction }, index) => {
        if (instruction.kind !== 'cmd' && instruction.kind !== 'entrypoint' && instruction.kind !== 'healthcheck')
          return [];
        if (!stage.steps.slice(index + 1).some((later) => later.instruction.kind === instruction.kind)) return [];
        const name = instructionName[instruction.kind];
        return [
          {
            line: instruction.range.startLine,
            endLine: instruction.range.endLine,
            message:
              `Multiple ${name} instructions should not be used in the same stage because only the last one ` +
              'will be used',
          },
        ];
      }),
    ),
};
