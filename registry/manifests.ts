/**
 * Fetching what a reference points at, verified: the manifest bytes must hash to the digest the
 * reference pins (or the registry's Docker-Content-Digest), an index or manifest list is followed
 * to the manifest for the wanted platform, and the config must hash to its descriptor's digest.
 * Every body is size-capped (4 MiB), so a hostile registry cannot make us buffer gigabytes.
 */
import { sha256Digest } from '../core/digest.js';
import {
  isDigest,
  MediaType,
  type Descriptor,
  type Digest,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from '../core/oci.js';
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

const indexTypes = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const manifestTypes = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);

/** The platform to pull by default: linux on this machine's architecture (amd64 on x86-64). */
export function defaultPlatform(): Platform {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return {
    os: 'linux',
    architecture: names[process.arch] ?? process.arch,
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

/** Fetches `reference` (tag or digest) of `repository`, following an index to `platform`'s manifest. */
export async function fetchImageManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  platform: Platform,
): Promise<FetchedManifest> {
  let fetched = await fetchVerified(client, repository, reference);
  for (let depth = 0; indexTypes.has(fetched.mediaType); depth++) {
    if (depth > 2)
      throw new RegistryError(client.label(`${repository}: indexes nested too deep`), 'REGISTRY_BAD_MANIFEST');
    const index = fetched.json as ImageIndex;
    const chosen = selectPlatform(index.manifests ?? [], platform);
    if (chosen === undefined) {
      const offered = (index.manifests ?? []).map((d) => formatPlatform(d.platform)).join(', ');
      throw new RegistryError(
        client.label(
          `${repository}:${reference} has no image for ${formatPlatform(platform)} (it has: ${offered || 'none'})`,
        ),
        'REGISTRY_NO_PLATFORM',
      );
    }
    fetched = await fetchVerified(client, repository, chosen.digest);
  }
  if (!manifestTypes.has(fetched.mediaType)) {
    throw new RegistryError(
      client.label(`${repository}:${reference} is a ${fetched.mediaType || 'manifest of unknown type'}, not an image`),
      'REGISTRY_BAD_MANIFEST',
    );
  }
  const manifest = fetched.json as ImageManifest;
  if (
    !isDigest(manifest.config?.digest) ||
    !Array.isArray(manifest.layers) ||
    !manifest.layers.every((l) => isDigest(l?.digest))
  ) {
    throw new RegistryError(
      client.label(`manifest ${fetched.digest} of ${repository} is malformed`),
      'REGISTRY_BAD_MANIFEST',
    );
  }
  return { digest: fetched.digest, mediaType: fetched.mediaType, bytes: fetched.bytes, manifest };
}

interface VerifiedJson {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  json: unknown;
}

async function fetchVerified(client: RegistryClient, repository: string, reference: string): Promise<VerifiedJson> {
  const { bytes, mediaType: contentType, digestHeader } = await client.getManifest(repository, reference);
  const digest = sha256Digest(bytes);
  const expected = isDigest(reference) ? reference : digestHeader?.startsWith('sha256:') ? digestHeader : undefined;
  if (expected !== undefined && expected !== digest) {
    throw new RegistryError(
      client.label(`manifest ${repository}@${expected} does not match its digest (got ${digest})`),
      'REGISTRY_DIGEST_MISMATCH',
    );
  }
  let json: { mediaType?: string; schemaVersion?: number };
  try {
    json = JSON.parse(bytes.toString('utf8')) as typeof json;
  } catch (err) {
    throw new RegistryError(
      client.label(`manifest ${repository}:${reference} is not valid JSON`),
      'REGISTRY_BAD_MANIFEST',
      { cause: err },
    );
  }
  if (json.schemaVersion === 1)
    throw new RegistryError(
      client.label(`${repository}:${reference} is a schema 1 manifest, which is not supported`),
      'REGISTRY_BAD_MANIFEST',
    );
  // The manifest's own mediaType wins over a generic Content-Type (application/json).
  const mediaType = json.mediaType ?? (contentType.startsWith('application/vnd.') ? contentType : guessType(json));
  return { digest, mediaType, bytes, json };
}

function guessType(json: object): string {
  return 'manifests' in json ? MediaType.ociIndex : MediaType.ociManifest;
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

/** Fetches a config blob (size-capped) and checks its bytes against the descriptor. */
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
      return await readBody(res, maxManifestBytes, label);
    } catch (err) {
      throw asBodyError(err, label);
    }
  });
  if (sha256Digest(bytes) !== descriptor.digest) {
    throw new RegistryError(
      `${label}: content does not match its digest (got ${sha256Digest(bytes)})`,
      'REGISTRY_DIGEST_MISMATCH',
    );
  }
  return bytes;
}
