/** The build-context errors, one constructor per case so messages stay uniform. */
import { ContextError } from '../../core/errors.js';

/** A source that is not in the context (BuildKit/Docker wording, so users recognise it). */
export function notFound(shown: string): ContextError {
  return new ContextError(
    `COPY failed: file not found in build context or excluded by .dockerignore: stat ${shown}: file does not exist`,
    'CONTEXT_NOT_FOUND',
  );
}

/** A source that exists on disk but that .dockerignore leaves out of the context. */
export function excluded(shown: string, pattern: string): ContextError {
  return new ContextError(
    `COPY failed: ${shown} is excluded by .dockerignore (pattern ${JSON.stringify(pattern)}); remove the pattern or ` +
      `add "!${shown}" to include it`,
    'CONTEXT_EXCLUDED',
  );
}

/** A source that leaves the context directory (`../x`, or a symlink pointing outside). */
export function escapes(shown: string, why: string): ContextError {
  return new ContextError(`COPY failed: forbidden path outside the build context: ${shown} (${why})`, 'CONTEXT_ESCAPE');
}
