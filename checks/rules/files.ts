/** File and directory rules (BuildKit): WorkdirRelativePath, CopyIgnoredFile. */
import type { AddInstruction, CopyInstruction } from '../../builder/instructions.js';
import type { Rule } from '../rule.js';
import { isAbsoluteWorkdir, stageScopes } from '../stage-scope.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** A relative WORKDIR before any absolute one in the build: it lands wherever the base image's WORKDIR is. */
export const workdirRelativePath: Rule = {
  name: 'WorkdirRelativePath',
  docs: docs('workdir-relative-path'),
  description:
    'Relative workdir without an absolute workdir declared within the build can have unexpected results if the ' +
    'base image changes',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const scopes = stageScopes(subject);
    return subject.stages.flatMap((stage) =>
      stage.steps.flatMap(({ instruction }, index) => {
        if (instruction.kind !== 'workdir' || isAbsoluteWorkdir(instruction.path)) return [];
        if (scopes[stage.index]?.before[index]?.absoluteWorkdir) return [];
        return [
          {
            line: instruction.range.startLine,
            message:
              `Relative workdir ${JSON.stringify(instruction.path)} can have unexpected results if the base ` +
              'image changes',
          },
        ];
      }),
    );
  },
};

/** A context path as the ignore matcher takes it: no leading `./` or `/`, no trailing `/`. */
function contextPath(source: string): string {
  return source.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '') || '.';
}

/** Sources read from the build context: not heredocs, URLs, git repositories or variables. */
function contextSources(instruction: CopyInstruction | AddInstruction): string[] {
  if (instruction.kind === 'copy' && instruction.from !== undefined) return [];
  return instruction.sources.filter(
    (source) => !source.startsWith('<<') && !source.includes('$') && !/^([a-z]+:\/\/|git@)/.test(source),
  );
}

/**
 * COPY/ADD of a path the context's ignore file excludes (the path or a directory above it), as
 * BuildKit matches it. BuildKit marks this rule experimental; tzbuild runs it by default, since
 * such a COPY fails the build anyway.
 */
export const copyIgnoredFile: Rule = {
  name: 'CopyIgnoredFile',
  docs: docs('copy-ignored-file'),
  description: 'Attempting to Copy file that is excluded by .dockerignore',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const ignore = subject.ignore;
    if (ignore === undefined) return [];
    return subject.entries.flatMap(({ instruction }) => {
      if (instruction.kind !== 'copy' && instruction.kind !== 'add') return [];
      const verb = instruction.kind === 'copy' ? 'Copy' : 'Add';
      return contextSources(instruction)
        .filter((source) => ignore.matches(contextPath(source)))
        .map((source) => ({
          line: instruction.range.startLine,
          endLine: instruction.range.endLine,
          message: `Attempting to ${verb} file ${JSON.stringify(source)} that is excluded by .dockerignore`,
        }));
    });
  },
};
