/**
 * A pull through the endpoints of endpoints.ts: a mirror that fails (down, 404, 5xx, refused
 * credentials, a lying answer) is reported in one line and the next one is asked. Credentials
 * for a mirror come from Docker's config.json under the mirror's host, like any registry's. The
 * pulled image is tagged under the reference's own name (`docker.io/library/…`).
 */
import type { ImageStore } from '../store/images.js';
import { endpointsFor, type RegistrySettings } from './endpoints.js';
import { RegistryError } from './errors.js';
import { type PullOptions, type PullResult, pullImage } from './pull.js';
import { formatReference, type ImageReference } from './reference.js';

/** Options of {@link pullThroughMirrors}. */
export interface MirroredPullOptions extends PullOptions {
  settings: RegistrySettings;
  /** Told, in one line each, of a mirror that failed before the next is asked. */
  onNotice?: (line: string) => void;
}

/** Pulls `ref` from the first endpoint that serves it; the last failure when none does. */
export async function pullThroughMirrors(
  store: ImageStore,
  ref: ImageReference,
  options: MirroredPullOptions,
): Promise<PullResult> {
  const endpoints = endpointsFor(ref, options.settings);
  if (endpoints.length === 0) {
    throw new RegistryError(
      `${formatReference(ref)}: no registry mirror is configured and hub-fallback is false ` +
        '(set "registry-mirrors" in the store\'s config.json or TZBUILD_REGISTRY_MIRRORS)',
      'REGISTRY_NO_ENDPOINT',
    );
  }
  const failures: string[] = [];
  for (const [index, endpoint] of endpoints.entries()) {
    const insecure = endpoint.plainHttp ? [...options.settings.insecure, endpoint.registry] : options.settings.insecure;
    try {
      return await pullImage(store, ref, { ...options, endpoint: endpoint.registry, insecureRegistries: insecure });
    } catch (error) {
      // Only a registry's failure moves on to the next: a full disk or a bug stops here.
      if (!(error instanceof RegistryError) || index === endpoints.length - 1) {
        throw failures.length === 0 || !(error instanceof RegistryError) ? error : allFailed(failures, error);
      }
      failures.push(error.message);
      const next = endpoints[index + 1]!;
      options.onNotice?.(`mirror ${endpoint.registry} failed (${error.message}); trying ${next.registry}`);
    }
  }
  throw new Error('unreachable: the loop returns or throws');
}

/** The error when every endpoint failed: the last one's, with how many were asked before it. */
function allFailed(failures: string[], last: RegistryError): RegistryError {
  const earlier = failures.length === 1 ? '1 mirror failed before it' : `${failures.length} mirrors failed before it`;
  return new RegistryError(`${last.message} (${earlier})`, last.code, { cause: last });
}
