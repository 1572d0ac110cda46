/**
 * The error every registry problem becomes: one line naming the registry and the object
 * (manifest, blob, token endpoint), so a user knows what failed where. Never carries credentials.
 */
import { UserError } from '../core/errors.js';

/** A registry failed, lied, stalled or refused us; `code` is stable for tools and tests. */
export class RegistryError extends UserError {
  /** True for failures worth another attempt (connection reset, 5xx, 429, a stall). */
  readonly retryable: boolean;

  constructor(message: string, code = 'REGISTRY', options?: { cause?: unknown; retryable?: boolean }) {
    super(message, code, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** An invalid image reference (`tzbuild pull Foo//bar`). */
export class ImageReferenceError extends UserError {
  constructor(message: string) {
    super(message, 'BAD_REFERENCE');
  }
}
