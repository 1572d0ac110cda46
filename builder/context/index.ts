/** The build context module: BuildContext plus the .dockerignore and glob helpers it is made of. */
import path from 'node:path';
import { BuildContext, type OpenContextOptions } from './build-context.js';

export {
  BuildContext,
  type ContextEntry,
  type ContextSource,
  type DigestStats,
  type OpenContextOptions,
  type ResolveOptions,
} from './build-context.js';
export {
  IgnoreMatcher,
  findIgnoreFile,
  loadIgnoreMatcher,
  loadIgnoreMatcherSync,
  readIgnoreFile,
} from './dockerignore.js';
export { globMatch, hasWildcard, validateGlob, GlobSyntaxError } from './glob.js';

/**
 * Opens the context for a build. `dockerfileName` is the Dockerfile path as the CLI shows it
 * (relative to the working directory, or absolute); it locates `<name>.dockerignore`.
 */
export function openBuildContext(
  contextDir: string,
  options: Omit<OpenContextOptions, 'dockerfilePath'> & { dockerfileName?: string } = {},
): Promise<BuildContext> {
  const { dockerfileName, ...rest } = options;
  return BuildContext.open(contextDir, {
    ...rest,
    ...(dockerfileName === undefined ? {} : { dockerfilePath: path.resolve(dockerfileName) }),
  });
}
