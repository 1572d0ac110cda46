/**
 * Typed errors. Two kinds: the user can fix it (a `UserError`: one clear line, no stack) or it is
 * a bug (anything else). The CLI turns a UserError into `message` + exit code 1.
 */

/** Where in a Dockerfile an error belongs (1-based, inclusive lines). */
export interface SourceLocation {
  file: string;
  line: number;
  endLine?: number;
}

/** Base of every error the user can fix. `code` is stable for tools and tests. */
export class UserError extends Error {
  /** The Dockerfile lines the error belongs to, when known (the CLI shows them). */
  location?: SourceLocation;
  /** More lines the CLI prints under the message (a source snippet, an output tail). */
  details?: string;

  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A problem in a Dockerfile. The message is prefixed `FILE:LINE: ` when the line is known. */
export class DockerfileError extends UserError {
  constructor(
    readonly detail: string,
    readonly file: string,
    readonly line?: number,
    readonly endLine?: number,
    code = 'DOCKERFILE',
  ) {
    super(line === undefined ? `${file}: ${detail}` : `${file}:${line}: ${detail}`, code);
    if (line !== undefined) this.location = { file, line, ...(endLine === undefined ? {} : { endLine }) };
  }
}

/**
 * `error` located at a Dockerfile line when it is a UserError that names none yet (a
 * DockerfileError with the same code, the original as its cause); anything else unchanged.
 */
export function locatedAt(error: unknown, file: string, line: number, endLine?: number): unknown {
  if (!(error instanceof UserError) || error instanceof DockerfileError || error.location !== undefined) return error;
  const located = new DockerfileError(error.message, file, line, endLine === line ? undefined : endLine, error.code);
  located.cause = error;
  return located;
}

/** A problem with the build context (missing source, escape, excluded by .dockerignore). */
export class ContextError extends UserError {
  constructor(message: string, code = 'CONTEXT') {
    super(message, code);
  }
}

/** A store problem (missing image, corrupt blob, bad archive). */
export class StoreError extends UserError {
  constructor(message: string, code = 'STORE', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

/** A RUN that failed: carries its exit code (or signal) and the tail of its output. */
export class StepError extends UserError {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly signal: string | undefined,
    readonly outputTail: string[],
    options?: { cause?: unknown },
  ) {
    super(message, 'STEP_FAILED', options);
  }
}
