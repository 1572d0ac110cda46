/**
 * Parse + plan: a Dockerfile's text and the build's arguments → BuildPlan, touching no port. The
 * build starts with it; `--dry-run`, `parse` and `tzbuild check` (which must not load the
 * solver and the steps) use it alone.
 */
import { DockerfileError } from '../core/errors.js';
import type { ParsedDockerfile } from './instructions.js';
import { parseDockerfile } from './parse/index.js';
import { planBuild, type BuildPlan } from './plan.js';
import type { BuildOptions } from './session.js';
import type { PlatformSpec } from './platform.js';

/** What planning reads besides the text: the file's name, the build args, the target (stage and platform). */
export type PlanInputs = Pick<BuildOptions, 'dockerfile' | 'buildArgs' | 'target'> & { platform?: PlatformSpec };

/** Parse + plan, without touching any port: what `--dry-run` and `parse` also use. */
export function planFor(options: PlanInputs): BuildPlan {
  return planParsed(parseDockerfile(options.dockerfile.text, options.dockerfile.name), options);
}

/** Plans an already parsed Dockerfile (`tzbuild check` has parsed it once for its rules). */
export function planParsed(parsed: ParsedDockerfile, options: PlanInputs): BuildPlan {
  checkSyntaxDirective(parsed.directives.syntax, options.dockerfile.name);
  return planBuild(parsed, {
    file: options.dockerfile.name,
    buildArgs: options.buildArgs,
    ...(options.target === undefined ? {} : { target: options.target }),
    ...(options.platform === undefined ? {} : { platform: options.platform }),
  });
}

/**
 * tzbuild implements the Dockerfile syntax itself: a `# syntax=` naming Docker's own frontend is
 * fine (its features are ours), any other frontend cannot be honoured and is an error.
 */
function checkSyntaxDirective(syntax: string | undefined, file: string): void {
  if (syntax === undefined) return;
  const name = syntax.replace(/^docker\.io\//, '').split(/[:@]/)[0];
  if (name === 'docker/dockerfile' || name === 'docker/dockerfile-upstream') return;
  throw new DockerfileError(
    `unsupported frontend "${syntax}" in # syntax= (tzbuild implements the Dockerfile syntax itself)`,
    file,
    1,
  );
}
