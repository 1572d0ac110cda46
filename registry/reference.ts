/**
 * Image references the way Docker reads them: `alpine` is `docker.io/library/alpine:latest`,
 * `localhost:5000/app:1` names a registry because its first component has a `:` (or a `.`, or is
 * `localhost`), `name@sha256:…` pins a manifest, and `name:tag@sha256:…` keeps the tag only for
 * show (the digest wins).
 */
import { BlockList, isIP } from 'node:net';
import { isDigest, type Digest } from '../core/oci.js';
import { ImageReferenceError } from './errors.js';

/** Docker Hub's canonical name, and where its API really lives. */
export const dockerHub = 'docker.io';
const dockerHubApiHost = 'registry-1.docker.io';
const dockerHubCredentialKey = 'https://index.docker.io/v1/';

/** A parsed, normalised image reference. */
export interface ImageReference {
  /** `docker.io`, `localhost:5000`, `ghcr.io` … */
  registry: string;
  /** Path inside the registry: `library/alpine`, `team/app`. */
  repository: string;
  /** The tag; `latest` when neither a tag nor a digest was given. */
  tag?: string;
  digest?: Digest;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A DNS label: letters, digits and inner hyphens. */
const hostLabel = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
/** A host name (labels joined by dots) or a bracketed IPv6 address, with an optional port. */
const hostPattern = new RegExp(`^(?:${hostLabel}(?:\\.${hostLabel})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const tagPattern = /^[\w][\w.-]{0,127}$/;
const maxNameLength = 255;

/** Parses and normalises `text`; throws ImageReferenceError with the reason when it is not a reference. */
export function parseReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new ImageReferenceError(`invalid image reference ${JSON.stringify(text)}: ${why}`);
  };
  if (text === '' || /\s/.test(text)) fail('empty or contains whitespace');
  const [namePart = '', digestPart, extra] = text.split('@');
  if (extra !== undefined) fail('more than one "@"');
  let digest: Digest | undefined;
  if (digestPart !== undefined) {
    if (!isDigest(digestPart))
      fail(
        /^[a-z0-9]+:/.test(digestPart) && !digestPart.startsWith('sha256:')
          ? 'only sha256 digests are supported'
          : 'malformed digest',
      );
    digest = digestPart as Digest;
  }
  const lastSlash = namePart.lastIndexOf('/');
  const colon = namePart.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? namePart : namePart.slice(0, colon);
  const tag = colon === -1 ? undefined : namePart.slice(colon + 1);
  if (tag !== undefined && !tagPattern.test(tag)) fail(`invalid tag ${JSON.stringify(tag)}`);
  const { registry, repository } = splitDomain(name, fail);
  if (registry.length + 1 + repository.length > maxNameLength) fail(`name longer than ${maxNameLength} characters`);
  return {
    registry,
    repository,
    ...(tag !== undefined ? { tag } : digest === undefined ? { tag: 'latest' } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

function splitDomain(name: string, fail: (why: string) => never): { registry: string; repository: string } {
  if (name === '') fail('no repository name');
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isDomain = slash !== -1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  let registry = isDomain ? first : dockerHub;
  let repository = isDomain ? name.slice(slash + 1) : name;
  if (isDomain && !hostPattern.test(registry)) fail(`invalid registry host ${JSON.stringify(registry)}`);
  if (registry === 'index.docker.io') registry = dockerHub;
  if (registry === dockerHub && !repository.includes('/')) repository = `library/${repository}`;
  for (const component of repository.split('/')) {
    if (component !== component.toLowerCase()) fail('repository name must be lowercase');
    if (!pathComponent.test(component)) fail(`invalid repository path component ${JSON.stringify(component)}`);
  }
  return { registry, repository };
}

/** `registry/repository` (no tag or digest). */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * The full normalised name: `docker.io/library/alpine:latest`, `localhost:5000/app@sha256:…`.
 * With a digest the tag is dropped (the digest decides what is pulled); this is the store name.
 */
export function formatReference(ref: ImageReference): string {
  if (ref.digest !== undefined) return `${repositoryName(ref)}@${ref.digest}`;
  return `${repositoryName(ref)}:${ref.tag ?? 'latest'}`;
}

/** The short name Docker shows (`alpine:latest`, `team/app:1`, `localhost:5000/app:1`). */
export function familiarName(ref: ImageReference): string {
  const full = formatReference(ref);
  if (ref.registry !== dockerHub) return full;
  const path = full.slice(dockerHub.length + 1);
  return path.startsWith('library/') ? path.slice('library/'.length) : path;
}

/** True when `text` names its registry explicitly (`host.tld/…`, `host:port/…`, `localhost/…`). */
export function hasExplicitRegistry(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash === -1) return false;
  const first = text.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
}

/** The host the registry API is served from (Docker Hub's differs from its name). */
export function registryApiHost(registry: string): string {
  return registry === dockerHub ? dockerHubApiHost : registry;
}

/** The key of a registry in `~/.docker/config.json` `auths` (Docker Hub's is a legacy URL). */
export function credentialKey(registry: string): string {
  return registry === dockerHub ? dockerHubCredentialKey : registry;
}

/** Maps a `docker login SERVER` argument (`https://ghcr.io/`, `index.docker.io`) to a registry name. */
export function normalizeRegistryName(server: string): string {
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === dockerHubApiHost || host === '') return dockerHub;
  return host;
}

/**
 * Plain http is allowed only for loopback registries and ones the user named insecure: by
 * `host:port`, by host, or (as Docker's `insecure-registries`) by a CIDR range holding the host's
 * IP address (`10.0.0.0/8`; host names are not resolved for this, as in Docker).
 */
export function isPlainHttpAllowed(registry: string, insecure: readonly string[] = []): boolean {
  const host = registry.replace(/:[0-9]+$/, '');
  if (host === 'localhost' || host === '127.0.0.1' || host === '[::1]') return true;
  if (insecure.includes(registry) || insecure.includes(host)) return true;
  const address = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(address);
  return family !== 0 && insecure.some((entry) => inRange(address, family, entry));
}

/** Whether `address` (an IP of `family` 4 or 6) lies in `range` (`10.0.0.0/8`); false for a non-range. */
function inRange(address: string, family: number, range: string): boolean {
  const [base = '', bits] = range.split('/');
  if (bits === undefined || !/^\d+$/.test(bits) || isIP(base) !== family) return false;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  try {
    list.addSubnet(base, Number(bits), type);
  } catch {
    return false; // a prefix longer than the address: not a range Docker accepts either
  }
  return list.check(address, type);
}
