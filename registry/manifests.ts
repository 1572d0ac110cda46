/**
 * Fetching what a reference points at, verified: the manifest bytes must hash to the digest the
 * reference pins (or the registry's Docker-Content-Digest), an index or manifest list is followed
 * (at most MAX_INDEX_DEPTH of them) to the manifest for the wanted platform, each document checked
 * against its type and the entry that named it (core/oci-documents.ts), and the config must be the
 * size and digest its descriptor declares. Every body is size-capped (4 MiB, or the declared size),
 * so a hostile registry cannot make us buffer gigabytes.
 */
import { sha256Digest } from '../core/digest.js';
import {
  hostArchitecture,
  isDigest,
  type Descriptor,
  type Digest,
  type ImageManifest,
  type Platform,
} from '../core/oci.js';
import {
  checkBlob,
  checkSize,
  isIndexType,
  isManifestType,
  MAX_INDEX_DEPTH,
  OciDocumentError,
  parseManifestDocument,
  type ManifestDocument,
} from '../core/oci-documents.js';
import { maxManifestBytes, type RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { asBodyError, readBody } from './http.js';

/** A manifest as the registry holds it (bytes kept: its digest is over them). */
export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
}

/** The platform to pull by default: linux on this machine's architecture (amd64 on x86-64). */
export function defaultPlatform(): Platform {
  return {
    os: 'linux',
    architecture: hostArchitecture(),
    ...(process.arch === 'arm64' ? { variant: 'v8' } : {}),
  };
}

/** Parses `os/arch[/variant]` (`linux/amd64`, `linux/arm/v7`). */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture)
    throw new RegistryError(`invalid platform ${JSON.stringify(text)} (expected os/arch[/variant])`, 'BAD_PLATFORM');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Fetches `reference` (tag or digest) of `repository`, following indexes to `platform`'s manifest. */
export async function fetchImageManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  platform: Platform,
): Promise<FetchedManifest> {
  let fetched = await fetchVerified(client, repository, reference);
  for (let depth = 1; fetched.document.kind === 'index'; depth++) {
    if (depth > MAX_INDEX_DEPTH)
      throw new RegistryError(
        client.label(`${repository}:${reference}: more than ${MAX_INDEX_DEPTH} indexes lead to its manifest`),
        'REGISTRY_BAD_MANIFEST',
      );
    const { manifests } = fetched.document.index;
    const chosen = selectPlatform(manifests, platform);
    if (chosen === undefined) {
      const offered = manifests.map((d) => formatPlatform(d.platform)).join(', ');
      throw new RegistryError(
        client.label(
          `${repository}:${reference} has no image for ${formatPlatform(platform)} (it has: ${offered || 'none'})`,
        ),
        'REGISTRY_NO_PLATFORM',
      );
    }
    fetched = await fetchVerified(client, repository, chosen.digest, chosen);
  }
  const { document } = fetched;
  return { digest: fetched.digest, mediaType: document.mediaType, bytes: fetched.bytes, manifest: document.manifest };
}

/**
 * The platforms of a multi-platform image: the index's image entries for real platforms
 * (attestations, `unknown/unknown`, left out); undefined when `reference` names one image.
 */
export async function fetchIndexPlatforms(
  client: RegistryClient,
  repository: string,
  reference: string,
): Promise<{ digest: Digest; platforms: Platform[] } | undefined> {
  const fetched = await fetchVerified(client, repository, reference);
  if (fetched.document.kind !== 'index') return undefined;
  const platforms = fetched.document.index.manifests.flatMap((entry) =>
    isManifestType(entry.mediaType) && entry.platform !== undefined && entry.platform.os !== 'unknown'
      ? [entry.platform]
      : [],
  );
  return { digest: fetched.digest, platforms };
}

interface VerifiedDocument {
  digest: Digest;
  bytes: Buffer;
  document: ManifestDocument;
}

/**
 * Fetches a manifest or index: its bytes must hash to the pinned digest (or the registry's
 * Docker-Content-Digest); fetched through an index entry, they are read capped at the entry's
 * size and must be exactly that size, and the document must be of the entry's media type.
 */
async function fetchVerified(
  client: RegistryClient,
  repository: string,
  reference: string,
  descriptor?: Descriptor,
): Promise<VerifiedDocument> {
  const what = client.label(`manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`);
  if (descriptor !== undefined && descriptor.size > maxManifestBytes)
    throw new RegistryError(
      `${what}: ${descriptor.size} bytes is over the ${maxManifestBytes}-byte limit`,
      'REGISTRY_TOO_LARGE',
    );
  const fetched = await client.getManifest(repository, reference, descriptor?.size);
  const digest = sha256Digest(fetched.bytes);
  const expected = isDigest(reference)
    ? reference
    : fetched.digestHeader?.startsWith('sha256:')
      ? fetched.digestHeader
      : undefined;
  if (expected !== undefined && expected !== digest) {
    throw new RegistryError(
      client.label(`manifest ${repository}@${expected} does not match its digest (got ${digest})`),
      'REGISTRY_DIGEST_MISMATCH',
    );
  }
  return asRegistryError(() => {
    if (descriptor !== undefined) checkSize(fetched.bytes.length, descriptor, what);
    // A generic Content-Type (application/json) says nothing; a manifest type must agree with the document.
    const claimed = descriptor?.mediaType ?? (knownType(fetched.mediaType) ? fetched.mediaType : undefined);
    return { digest, bytes: fetched.bytes, document: parseManifestDocument(fetched.bytes, what, claimed) };
  });
}

function knownType(mediaType: string): boolean {
  return isIndexType(mediaType) || isManifestType(mediaType);
}

/** Runs a check of shared OCI rules, turning its refusal into a RegistryError. */
function asRegistryError<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof OciDocumentError)) throw error;
    const code = error.code === 'OCI_DIGEST_MISMATCH' ? 'REGISTRY_DIGEST_MISMATCH' : 'REGISTRY_BAD_MANIFEST';
    throw new RegistryError(error.message, code, { cause: error });
  }
}

/** The best entry for `platform`: same os/arch, the wanted variant (or none), never an attestation. */
export function selectPlatform(manifests: Descriptor[], platform: Platform): Descriptor | undefined {
  const candidates = manifests.filter(
    (d) => isDigest(d.digest) && d.platform?.os === platform.os && d.platform.architecture === platform.architecture,
  );
  if (platform.variant === undefined) return candidates.find((d) => d.platform?.variant === undefined) ?? candidates[0];
  return (
    candidates.find((d) => d.platform?.variant === platform.variant) ??
    candidates.find((d) => d.platform?.variant === undefined)
  );
}

function formatPlatform(platform: Platform | undefined): string {
  if (platform === undefined) return 'unknown';
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Fetches a config blob, read capped at its declared size, and checks its bytes against the descriptor. */
export async function fetchConfig(client: RegistryClient, repository: string, descriptor: Descriptor): Promise<Buffer> {
  const label = client.label(`config ${descriptor.digest} of ${repository}`);
  if (descriptor.size > maxManifestBytes)
    throw new RegistryError(
      `${label}: ${descriptor.size} bytes is over the ${maxManifestBytes}-byte limit`,
      'REGISTRY_TOO_LARGE',
    );
  const bytes = await client.retry(async () => {
    const res = await client.getBlob(repository, descriptor.digest);
    try {
      return await readBody(res, descriptor.size, label);
    } catch (err) {
      throw asBodyError(err, label);
    }
  });
  asRegistryError(() => checkBlob(bytes, descriptor, label));
  return bytes;
}
