/**
 * Where a pull goes, as Docker's daemon.json configures it: Docker Hub names are tried on each
 * `registry-mirrors` entry in order, then on Docker Hub itself (unless `hub-fallback` is false:
 * air-gapped sites); any other name goes to its own registry. Kept apart from the pull itself,
 * so a build reads its settings without loading the registry client.
 */
import { UserError } from '../core/errors.js';
import { dockerHub, type ImageReference } from './reference.js';

/** The registry settings of a store (config.json) and of one command (flags, environment). */
export interface RegistrySettings {
  /** `registry-mirrors`: URLs (`http://127.0.0.1:5000`, `https://mirror.example`) for Docker Hub names. */
  mirrors: readonly string[];
  /** `insecure-registries` and `--insecure-registry`: `host[:port]` or CIDR ranges spoken to over http. */
  insecure: readonly string[];
  /** `hub-fallback`: ask Docker Hub itself when no mirror served the image (default true). */
  hubFallback: boolean;
}

/** One registry to ask: its `host[:port]`, and whether it is a mirror (and so may be skipped). */
export interface Endpoint {
  registry: string;
  mirror: boolean;
  /** A mirror given as `http://…`: plain http is allowed for it. */
  plainHttp: boolean;
}

/** `http://127.0.0.1:5000` → its registry name and scheme. Throws a UserError for anything else. */
export function parseMirror(url: string, origin: string): { registry: string; plainHttp: boolean } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`${origin}: registry mirror ${JSON.stringify(url)} is not a URL`, 'BAD_CONFIG');
  }
  const pathless = parsed.pathname === '/' || parsed.pathname === '';
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !pathless || parsed.search !== '') {
    throw new UserError(
      `${origin}: registry mirror ${JSON.stringify(url)} must be http(s)://HOST[:PORT] with no path`,
      'BAD_CONFIG',
    );
  }
  return { registry: parsed.host, plainHttp: parsed.protocol === 'http:' };
}

/** The registries to ask for `ref`, in order. Empty when Docker Hub is excluded and no mirror is set. */
export function endpointsFor(ref: ImageReference, settings: RegistrySettings): Endpoint[] {
  if (ref.registry !== dockerHub) return [{ registry: ref.registry, mirror: false, plainHttp: false }];
  const mirrors = settings.mirrors.map((url) => ({ ...parseMirror(url, 'registry-mirrors'), mirror: true }));
  return settings.hubFallback ? [...mirrors, { registry: dockerHub, mirror: false, plainHttp: false }] : mirrors;
}
