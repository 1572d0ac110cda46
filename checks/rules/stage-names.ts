/** Stage name rules (BuildKit): DuplicateStageName, ReservedStageName. */
import type { Rule } from '../rule.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** Names BuildKit keeps for itself: `FROM scratch` and the build context. */
const reservedStageNames = new Set(['context', 'scratch']);

/** A second stage of a name already taken (the planner refuses the file too). */
export const duplicateStageName: Rule = {
  name: 'DuplicateStageName',
  docs: docs('duplicate-stage-name'),
  description: 'Stage names should be unique',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const seen = new Set<string>();
    return subject.stages.flatMap((stage) => {
      const name = stage.name;
      if (name === undefined) return [];
      if (!seen.has(name)) {
        seen.add(name);
        return [];
      }
      const message = `Duplicate stage name ${JSON.stringify(name)}, stage names should be unique`;
      return [{ line: stage.from.instruction.range.startLine, message }];
    });
  },
};

/** `AS scratch`, `AS context`. */
export const reservedStageName: Rule = {
  name: 'ReservedStageName',
  docs: docs('reserved-stage-name'),
  description: 'Reserved words should not be used as stage names',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap((stage) =>
      stage.name !== undefined && reservedStageNames.has(stage.name)
        ? [
            {
              line: stage.from.instruction.range.startLine,
              message: `Stage name should not use the same name as reserved stage ${JSON.stringify(stage.name)}`,
            },
          ]
        : [],
    ),
};
