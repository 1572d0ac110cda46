import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Digest } from '../../../core/digest.js';
import { MediaType, type Descriptor } from '../../../core/oci.js';
import {
  checkBlob,
  checkDescriptor,
  layerPacking,
  MAX_JSON_DEPTH,
  OciDocumentError,
  parseJsonDocument,
  parseManifestDocument,
} from '../../../core/oci-documents.js';

function refusal(check: () => unknown): OciDocumentError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(OciDocumentError);
    return error as OciDocumentError;
  }
  throw new Error('accepted');
}

const descriptor = (mediaType: string, content = 'x'): Descriptor => ({
  mediaType,
  digest: sha256Digest(content),
  size: content.length,
});
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: descriptor(MediaType.ociConfig),
  layers: [descriptor(MediaType.ociLayerGzip)],
};
const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor(MediaType.ociManifest)] };
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseJsonDocument', () => {
  it('refuses nesting past the limit without recursing, however deep', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const error = refusal(() => parseJsonDocument(deep, 'config X'));
    expect(error.message).toBe(`config X: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    expect(error.code).toBe('OCI_TOO_DEEP');
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    expect(refusal(() => parseJsonDocument(objects, 'x')).code).toBe('OCI_TOO_DEEP');
  });

  it('accepts nesting up to the limit, so what it returns can be walked recursively', () => {
    const atLimit = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(canonicalJson(parseJsonDocument(atLimit, 'x'))).toBe(atLimit);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ label: `${'['.repeat(500)}\\"{{{` });
    expect(parseJsonDocument(text, 'x')).toEqual({ label: `${'['.repeat(500)}\\"{{{` });
  });

  it('names a document that is not JSON', () => {
    expect(refusal(() => parseJsonDocument('{"a":', 'manifest M')).message).toBe('manifest M: not valid JSON');
  });
});

describe('parseManifestDocument', () => {
  it('reads a manifest and an index by their mediaType, or by unambiguous fields without one', () => {
    expect(parseManifestDocument(bytes(manifest), 'm').kind).toBe('manifest');
    expect(parseManifestDocument(bytes(index), 'i').kind).toBe('index');
    const { mediaType: _m, ...bareManifest } = manifest;
    const { mediaType: _i, ...bareIndex } = index;
    expect(parseManifestDocument(bytes(bareManifest), 'm')).toMatchObject({ kind: 'manifest' });
    expect(parseManifestDocument(bytes(bareIndex), 'i')).toMatchObject({ kind: 'index' });
    expect(parseManifestDocument(bytes(bareManifest), 'm', MediaType.dockerManifest).mediaType).toBe(
      MediaType.dockerManifest,
    );
  });

  it('refuses a document that is a manifest and an index at once (CVE-2021-41190)', () => {
    const both = { ...manifest, manifests: index.manifests };
    const error = refusal(() => parseManifestDocument(bytes(both), 'manifest M'));
    expect(error.code).toBe('OCI_AMBIGUOUS');
    expect(error.message).toBe(
      'manifest M: holds both "manifests" and "layers"/"config", so it reads as an index and as a manifest ' +
        '(CVE-2021-41190); refused',
    );
    const { mediaType: _, ...untyped } = both;
    expect(refusal(() => parseManifestDocument(bytes(untyped), 'm')).code).toBe('OCI_AMBIGUOUS');
  });

  it('refuses a document without mediaType whose fields do not tell', () => {
    const error = refusal(() => parseManifestDocument(bytes({ schemaVersion: 2, config: manifest.config }), 'M'));
    expect(error.message).toBe('M: no mediaType, and its fields do not say whether it is a manifest or an index');
  });

  it('refuses a mediaType that disagrees with the descriptor that named the document', () => {
    const error = refusal(() => parseManifestDocument(bytes(manifest), 'manifest M', MediaType.ociIndex));
    expect(error.code).toBe('OCI_TYPE_MISMATCH');
    expect(error.message).toBe(
      `manifest M: its mediaType ${MediaType.ociManifest} disagrees with ${MediaType.ociIndex}, the type it was ` +
        'referred to as',
    );
    // Untyped, the descriptor's type decides, and the fields must fit it.
    const { mediaType: _, ...untyped } = manifest;
    expect(refusal(() => parseManifestDocument(bytes(untyped), 'M', MediaType.ociIndex)).message).toBe(
      `M: typed ${MediaType.ociIndex} but holds "layers"/"config"`,
    );
    expect(refusal(() => parseManifestDocument(bytes({ ...index, mediaType: 'text/plain' }), 'M')).message).toBe(
      'M: typed text/plain (not a manifest type) but holds "manifests"',
    );
  });

  it('refuses schema 1, a wrong schemaVersion and malformed descriptors', () => {
    expect(refusal(() => parseManifestDocument(bytes({ schemaVersion: 1, fsLayers: [] }), 'M')).code).toBe(
      'OCI_SCHEMA1',
    );
    expect(refusal(() => parseManifestDocument(bytes({ ...manifest, schemaVersion: 3 }), 'M')).message).toBe(
      'M: schemaVersion 3, expected 2',
    );
    const negative = { ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] };
    expect(refusal(() => parseManifestDocument(bytes(negative), 'M')).message).toMatch(
      /^M: layers\[0\]: malformed descriptor \(.*size -1\)$/,
    );
    const pathDigest = { ...index, manifests: [{ ...index.manifests[0], digest: 'sha256:../../etc/passwd' }] };
    expect(refusal(() => parseManifestDocument(bytes(pathDigest), 'I')).code).toBe('OCI_BAD_DESCRIPTOR');
    expect(() => checkDescriptor({ ...descriptor('t'), size: '5' }, 'd')).toThrow(OciDocumentError);
  });
});

describe('checkBlob', () => {
  it('refuses bytes whose size or digest differ from the descriptor', () => {
    const declared = descriptor(MediaType.ociConfig, 'config');
    expect(() => checkBlob(Buffer.from('config'), declared, 'c')).not.toThrow();
    expect(refusal(() => checkBlob(Buffer.from('confi'), declared, 'config C')).message).toBe(
      'config C: 5 bytes where the descriptor declares 6',
    );
    expect(refusal(() => checkBlob(Buffer.from('CONFIG'), declared, 'c')).code).toBe('OCI_DIGEST_MISMATCH');
  });
});

describe('layerPacking', () => {
  it('knows the tar layer types, plain, gzip and zstd, OCI and Docker', () => {
    expect(layerPacking(MediaType.ociLayer, 'l')).toBe('tar');
    expect(layerPacking(MediaType.dockerLayerGzip, 'l')).toBe('gzip');
    expect(layerPacking(MediaType.ociLayerZstd, 'l')).toBe('zstd');
  });

  it('refuses foreign layers with a message saying why, and unknown types', () => {
    const foreign = refusal(() => layerPacking('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'layer L'));
    expect(foreign.code).toBe('OCI_FOREIGN_LAYER');
    expect(foreign.message).toBe(
      'layer L: a foreign (non-distributable) layer, application/vnd.docker.image.rootfs.foreign.diff.tar.gzip: ' +
        'its content is not part of the image but fetched from URLs of its own, which tzbuild does not do',
    );
    const unknown = refusal(() => layerPacking('application/vnd.example.squashfs', 'layer L'));
    expect(unknown.code).toBe('OCI_UNKNOWN_LAYER');
    expect(unknown.message).toBe(
      'layer L: unknown layer media type "application/vnd.example.squashfs" (tzbuild unpacks tar, tar+gzip and ' +
        'tar+zstd layers); refused rather than unpacked as a tar',
    );
  });
});
