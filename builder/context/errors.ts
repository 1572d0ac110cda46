/** The build-context errors, one constructor per case so messages stay uniform. */
import { ContextError } from '../../core/errors.js';
import { shownName } from '../../core/names.js';
import { PATH_MAX } from '../../sys/safe-path.js';

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

/** A context entry too deep for the host to name (its path, with the context dir, reaches PATH_MAX). */
export function tooDeep(rel: Buffer, hostBytes: number): ContextError {
  return new ContextError(
    `COPY failed: context entry ${shownName(rel)} is too deep: its path is ${hostBytes} bytes, past the host's ` +
      `PATH_MAX of ${PATH_MAX}`,
    'CONTEXT_TOO_DEEP',
  );
}

/** A context entry whose name is not UTF-8: a layer cannot carry it byte for byte. */
export function notUtf8(rel: Buffer): ContextError {
  return new ContextError(
    `COPY failed: context entry ${shownName(rel)} has a name that is not UTF-8, which tzbuild cannot put in a ` +
      'layer byte for byte; rename it or leave it out (.dockerignore)',
    'CONTEXT_NAME_NOT_UTF8',
  );
}
