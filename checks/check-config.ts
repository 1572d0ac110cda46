/**
 * Which rules run and how strictly: the `# check=skip=A,B;error=true;experimental=C` directive
 * (BuildKit's syntax and meaning), overridden as a whole by the `BUILDKIT_DOCKERFILE_CHECK` build
 * arg as in BuildKit, plus `--check-skip` from the command line.
 */
import { DockerfileError } from '../core/errors.js';
import type { Directive } from '../builder/parse/index.js';

/** The check settings in effect. */
export interface CheckConfig {
  /** Rule names not to run; `all` in the set skips every rule. */
  skip: ReadonlySet<string>;
  /** Experimental rules to run; `all` runs every one. */
  experimental: ReadonlySet<string>;
  /** `error=true`: warnings become errors (the check, and a build, fail on them). */
  error: boolean;
}

/** The build arg that replaces the directive (`--build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all`). */
export const checkBuildArg = 'BUILDKIT_DOCKERFILE_CHECK';

/**
 * The settings for a Dockerfile: its `check` directive (or the build arg), and `extraSkip` rule
 * names (`--check-skip`, comma-separated lists allowed). Throws DockerfileError for a malformed
 * value, as BuildKit refuses the build.
 */
export function checkConfig(
  directives: readonly Directive[],
  buildArgs: ReadonlyMap<string, string>,
  file: string,
  extraSkip: readonly string[] = [],
): CheckConfig {
  const directive = directives.find((candidate) => candidate.name === 'check');
  const fromArg = buildArgs.get(checkBuildArg);
  const value = fromArg ?? directive?.value ?? '';
  let config: CheckConfig;
  try {
    config = parseCheckValue(value);
  } catch (error) {
    const where = fromArg === undefined ? directive?.line : undefined;
    const source = fromArg === undefined ? '# check=' : `--build-arg ${checkBuildArg}`;
    throw new DockerfileError(`${source}: ${(error as Error).message}`, file, where, undefined, 'DOCKERFILE_CHECK');
  }
  const skip = new Set([...config.skip, ...extraSkip.flatMap(splitList)]);
  return { ...config, skip };
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** BuildKit's `ParseLintOptions`: up to three `key=value` parts separated by `;`. */
export function parseCheckValue(value: string): CheckConfig {
  const config = { skip: new Set<string>(), experimental: new Set<string>(), error: false };
  const trimmed = value.trim();
  if (trimmed === '') return config;
  for (const part of trimmed.split(';')) {
    const equals = part.indexOf('=');
    if (equals < 0) throw new Error(`invalid check option "${part}"`);
    const key = part.slice(0, equals).trim();
    const setting = part.slice(equals + 1).trim();
    if (key === 'skip') config.skip = new Set(splitList(setting));
    else if (key === 'experimental') config.experimental = new Set(splitList(setting));
    else if (key === 'error') config.error = parseBool(setting);
    else throw new Error(`invalid check option "${key}"`);
  }
  return config;
}

/** Go's strconv.ParseBool. */
function parseBool(text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new Error(`invalid check error value "${text}": expected true or false`);
}

/** Whether `config` lets a rule run. */
export function ruleEnabled(config: CheckConfig, rule: { name: string; experimental?: boolean }): boolean {
  if (config.skip.has('all') || config.skip.has(rule.name)) return false;
  return !rule.experimental || config.experimental.has('all') || config.experimental.has(rule.name);
}
