/**
 * Untrusted OCI documents, checked the same way by every reader (registry pulls, archive loads
 * and `oci-layout://` sources, `--cache-from` imports): JSON nested without bound, documents
 * whose fields contradict their type (CVE-2021-41190), descriptors whose size or digest do not
 * match the bytes, index chains without end, layer media types that are not tar. Pure checks on
 * bytes already read; `what` names the document in the message ("registry X: manifest D of R").
 */
import { sha256Digest } from './digest.js';
import { UserError } from './errors.js';
import { isDigest, MediaType, type Descriptor, type ImageIndex, type ImageManifest } from './oci.js';

/** An OCI document tzbuild refuses; `code` says which rule it broke. */
export class OciDocumentError extends UserError {}

/**
 * Deepest nesting of arrays and objects a document may have. Real manifests and configs stay
 * under 8; the bound keeps every later walk of the parsed value (canonical JSON, cloning) safe
 * from a stack overflow, since those recurse.
 */
export const MAX_JSON_DEPTH = 64;

/** How many indexes may lead to a manifest (an index of indexes of …). */
export const MAX_INDEX_DEPTH = 8;

const indexTypes = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const manifestTypes = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);

/** True for the media types of an index (OCI index, Docker manifest list). */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && indexTypes.has(mediaType);
}

/** True for the media types of an image manifest (OCI, Docker schema 2). */
export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && manifestTypes.has(mediaType);
}

/** The deepest nesting in a JSON text, found by one scan without recursion; stops past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      deepest = Math.max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return deepest;
}

/** Parses an untrusted JSON document, refusing one nested deeper than {@link MAX_JSON_DEPTH}. */
export function parseJsonDocument(bytes: Buffer | string, what: string): unknown {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new OciDocumentError(`${what}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, 'OCI_TOO_DEEP');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new OciDocumentError(`${what}: not valid JSON`, 'OCI_BAD_JSON', { cause: error });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a descriptor's fields: a string media type, a well-formed digest, a size that is a byte count. */
export function checkDescriptor(value: unknown, what: string): Descriptor {
  if (!isRecord(value)) throw new OciDocumentError(`${what}: a descriptor is not an object`, 'OCI_BAD_DESCRIPTOR');
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || !isDigest(digest) || !Number.isSafeInteger(size) || (size as number) < 0) {
    throw new OciDocumentError(
      `${what}: malformed descriptor (mediaType ${JSON.stringify(mediaType)}, digest ${JSON.stringify(digest)}, ` +
        `size ${JSON.stringify(size)})`,
      'OCI_BAD_DESCRIPTOR',
    );
  }
  return value as unknown as Descriptor;
}

/** Checks that `actual` bytes are what `descriptor` declares (a read is capped at the size, so never more). */
export function checkSize(actual: number, descriptor: Descriptor, what: string): void {
  if (actual !== descriptor.size)
    throw new OciDocumentError(
      `${what}: ${actual} bytes where the descriptor declares ${descriptor.size}`,
      'OCI_SIZE_MISMATCH',
    );
}

/** Checks bytes read for `descriptor` (capped at its size) against its size and digest. */
export function checkBlob(bytes: Buffer, descriptor: Descriptor, what: string): void {
  checkSize(bytes.length, descriptor, what);
  const digest = sha256Digest(bytes);
  if (digest !== descriptor.digest)
    throw new OciDocumentError(`${what}: content does not match its digest (got ${digest})`, 'OCI_DIGEST_MISMATCH');
}

/** An image manifest or an index, as its own fields say (and agreeing with what pointed at it). */
export type ManifestDocument =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/**
 * Parses a manifest or index. `expected` is the media type whatever pointed at it claims (an
 * index entry, a registry's Content-Type naming a manifest type): a document whose own
 * mediaType says otherwise is refused, as is one that holds both `manifests` and `layers` or
 * `config`, or one without a mediaType that could be either.
 */
export function parseManifestDocument(bytes: Buffer, what: string, expected?: string): ManifestDocument {
  const json = parseJsonDocument(bytes, what);
  if (!isRecord(json)) throw new OciDocumentError(`${what}: not a JSON object`, 'OCI_BAD_MANIFEST');
  if (json.schemaVersion === 1)
    throw new OciDocumentError(`${what}: a schema 1 manifest, which is not supported`, 'OCI_SCHEMA1');
  const own = json.mediaType;
  if (own !== undefined && typeof own !== 'string')
    throw new OciDocumentError(`${what}: mediaType is not a string`, 'OCI_BAD_MANIFEST');
  const mediaType = documentType(json, what, own, expected);
  if (json.schemaVersion !== 2)
    throw new OciDocumentError(
      `${what}: schemaVersion ${JSON.stringify(json.schemaVersion)}, expected 2`,
      'OCI_BAD_MANIFEST',
    );
  if (isIndexType(mediaType)) {
    if (!Array.isArray(json.manifests))
      throw new OciDocumentError(`${what}: an index whose "manifests" is not a list`, 'OCI_BAD_MANIFEST');
    for (const [i, entry] of json.manifests.entries()) checkDescriptor(entry, `${what}: manifests[${i}]`);
    return { kind: 'index', mediaType, index: json as unknown as ImageIndex };
  }
  checkDescriptor(json.config, `${what}: config`);
  if (!Array.isArray(json.layers))
    throw new OciDocumentError(`${what}: a manifest whose "layers" is not a list`, 'OCI_BAD_MANIFEST');
  for (const [i, entry] of json.layers.entries()) checkDescriptor(entry, `${what}: layers[${i}]`);
  return { kind: 'manifest', mediaType, manifest: json as unknown as ImageManifest };
}

/** The document's type from its own mediaType, what pointed at it, or (only when unambiguous) its fields. */
function documentType(
  json: Record<string, unknown>,
  what: string,
  own: string | undefined,
  expected: string | undefined,
): string {
  const asIndex = 'manifests' in json;
  const asManifest = 'layers' in json || 'config' in json;
  if (asIndex && asManifest)
    throw new OciDocumentError(
      `${what}: holds both "manifests" and "layers"/"config", so it reads as an index and as a manifest ` +
        '(CVE-2021-41190); refused',
      'OCI_AMBIGUOUS',
    );
  if (own !== undefined && expected !== undefined && own !== expected)
    throw new OciDocumentError(
      `${what}: its mediaType ${own} disagrees with ${expected}, the type it was referred to as`,
      'OCI_TYPE_MISMATCH',
    );
  const declared = own ?? expected;
  if (declared === undefined) {
    if (asIndex) return MediaType.ociIndex;
    if ('layers' in json && 'config' in json) return MediaType.ociManifest;
    throw new OciDocumentError(
      `${what}: no mediaType, and its fields do not say whether it is a manifest or an index`,
      'OCI_AMBIGUOUS',
    );
  }
  if (isIndexType(declared) ? asManifest : isManifestType(declared) ? asIndex : true) {
    const fields = asIndex ? '"manifests"' : asManifest ? '"layers"/"config"' : 'neither "manifests" nor "layers"';
    const type = isIndexType(declared) || isManifestType(declared) ? declared : `${declared} (not a manifest type)`;
    throw new OciDocumentError(`${what}: typed ${type} but holds ${fields}`, 'OCI_TYPE_MISMATCH');
  }
  return declared;
}

/** How a layer's bytes are packed, by its media type. */
export type LayerPacking = 'tar' | 'gzip' | 'zstd';

const layerPackings: Record<string, LayerPacking> = {
  [MediaType.ociLayer]: 'tar',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.dockerLayer]: 'tar',
  [MediaType.dockerLayerGzip]: 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
};

/** Layers whose content is not in the image but at URLs of their own (Windows bases, licensed content). */
const foreignLayerTypes = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** The packing of a layer descriptor's media type; a foreign or unknown type is refused, never unpacked as a tar. */
export function layerPacking(mediaType: string, what: string): LayerPacking {
  const packing = layerPackings[mediaType];
  if (packing !== undefined) return packing;
  if (foreignLayerTypes.has(mediaType))
    throw new OciDocumentError(
      `${what}: a foreign (non-distributable) layer, ${mediaType}: its content is not part of the image but ` +
        'fetched from URLs of its own, which tzbuild does not do',
      'OCI_FOREIGN_LAYER',
    );
  throw new OciDocumentError(
    `${what}: unknown layer media type ${JSON.stringify(mediaType)} (tzbuild unpacks tar, tar+gzip and tar+zstd ` +
      'layers); refused rather than unpacked as a tar',
    'OCI_UNKNOWN_LAYER',
  );
}
