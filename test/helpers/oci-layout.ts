/**
 * Hand-made OCI images for hostile-input tests: a valid one-layer image as plain objects (layer,
 * config, manifest, index), which a test bends (a lying size, a manifest that is also an index,
 * indexes nested without end, a layer type that is no tar), then writes as an OCI layout
 * directory or tar. Blobs are stored under the digest of their bytes, whatever the descriptors say.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { sha256Digest } from '../../core/digest.js';
import { MediaType, type Descriptor } from '../../core/oci.js';
import { header, rawTar } from './layers.js';

/** JSON documents and raw blobs of an image, before they are written. */
export interface LayoutParts {
  /** index.json, as an object (or raw text for malformed ones). */
  index: unknown;
  /** Every blob to store, by content. */
  blobs: Buffer[];
}

/** A descriptor for `bytes` of `mediaType`. */
export function describe(bytes: Buffer, mediaType: string): Descriptor {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length };
}

/** JSON text of `value` as bytes (compact, as tools write it). */
export function json(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The pieces of a valid one-layer image, each a plain object a test may change before packing. */
export function imageParts(content = 'hello\n') {
  const layer = rawTar([{ header: header('hello.txt', { size: Buffer.byteLength(content) }), body: content }]);
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] },
    history: [{ created_by: 'test' }],
  };
  const configBytes = json(config);
  return { layer, config, configBytes, manifest: manifestObject(configBytes, layer) };
}

/** An OCI image manifest of one config and one layer, as an object a test may change. */
export function manifestObject(configBytes: Buffer, layer: Buffer): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: describe(configBytes, MediaType.ociConfig),
    layers: [describe(layer, MediaType.ociLayer)],
  };
}

/** An index.json naming `manifest` (its descriptor changed by `entry`), tagged `ref`. */
export function indexFor(manifestBytes: Buffer, entry: Partial<Descriptor> = {}, ref = 'test/app:1'): unknown {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      {
        ...describe(manifestBytes, MediaType.ociManifest),
        annotations: { 'org.opencontainers.image.ref.name': ref },
        ...entry,
      },
    ],
  };
}

/** A valid image layout's parts, `bend` applied to the manifest object first. */
export function validLayout(bend: (manifest: Record<string, unknown>) => void = () => undefined): LayoutParts {
  const { layer, configBytes, manifest } = imageParts();
  bend(manifest);
  const manifestBytes = json(manifest);
  return { index: indexFor(manifestBytes), blobs: [layer, configBytes, manifestBytes] };
}

/** Writes `parts` as an OCI layout directory `dir`; returns it. */
export async function writeLayoutDir(dir: string, parts: LayoutParts): Promise<string> {
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(path.join(dir, 'index.json'), json(parts.index));
  for (const blob of parts.blobs)
    await writeFile(path.join(dir, 'blobs', 'sha256', sha256Digest(blob).slice('sha256:'.length)), blob);
  return dir;
}

/** Writes `parts` as an OCI layout tar at `file` (through a directory next to it); returns the file. */
export async function writeLayoutTar(file: string, parts: LayoutParts): Promise<string> {
  const dir = await writeLayoutDir(`${file}.d`, parts);
  await execa('tar', ['-C', dir, '-cf', file, '.']);
  return file;
}
