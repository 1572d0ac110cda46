/**
 * The checks a normal build runs: BuildKit's rules only, on what the build reads anyway (its
 * arguments, the ignore file, base image configs the store holds), without the planner (the
 * build plans) or the history (advice is `tzbuild check`'s). Cheap, so every build can say
 * "N warnings"; `# check=error=true` makes them fail the build before it starts.
 */
import { buildkitRules } from './buildkit-rules.js';
import { gatherInputs, type CheckRequest, type CheckSources } from './gather.js';
import type { CheckReport } from './rule.js';
import { checkDockerfile } from './run.js';

/** The build's check report; `skip` are `--check-skip` names. */
export async function buildChecks(
  request: CheckRequest,
  sources: Pick<CheckSources, 'imageConfig'>,
  skip: readonly string[] = [],
): Promise<CheckReport> {
  // Base image configs only: the history is advice, `tzbuild check`'s.
  const only = sources.imageConfig === undefined ? {} : { imageConfig: sources.imageConfig };
  const inputs = await gatherInputs({ ...request, listContext: false }, only);
  return checkDockerfile(inputs, { rules: buildkitRules, skip, plan: false });
}
