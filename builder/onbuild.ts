/**
 * ONBUILD triggers: a base image's `OnBuild` list, parsed back into instructions that run first
 * in the child stage (as Docker does), attributed to the child's FROM line.
 */
import { DockerfileError, UserError } from '../core/errors.js';
import type { Instruction } from './instructions.js';
import { parseOnbuildTrigger } from './parse/index.js';
import type { StageState } from './state.js';

export function parseTriggers(state: StageState, file: string, fromLine = 1): Instruction[] {
  const triggers = state.config.config.OnBuild ?? [];
  return triggers.map((expression) => {
    try {
      const instruction = parseOnbuildTrigger(expression, file);
      return { ...instruction, range: { startLine: fromLine, endLine: fromLine } };
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw new DockerfileError(
        `invalid ONBUILD trigger "${expression}" in base image: ${error.message}`,
        file,
        fromLine,
      );
    }
  });
}
