/**
 * ImageSource over the local store: FROM `name[:tag]`, an image ID or digest, or
 * `oci-layout://DIR[:TAG]` / `oci-layout://DIR@sha256:…` (imported into the store first).
 * Registry pulls are not here; a composite source can try this one first.
 */
import path from 'node:path';
import { StoreError } from '../core/errors.js';
import type { ImageSource, ResolvedImage, ResolveOptions } from '../core/ports.js';
import { resolveImage, type ImageStore } from '../store/images.js';
import { isDigest } from '../core/oci.js';

const ociLayoutScheme = 'oci-layout://';

/** Resolves references against the local store only. */
export class StoreImageSource implements ImageSource {
  constructor(private readonly store: ImageStore) {}

  async resolve(reference: string, options: ResolveOptions = {}): Promise<ResolvedImage> {
    if (reference.startsWith(ociLayoutScheme)) return this.fromLayout(reference.slice(ociLayoutScheme.length));
    try {
      return await resolveImage(this.store, reference, options.platform);
    } catch (error) {
      if (!(error instanceof StoreError) || error.code !== 'IMAGE_NOT_FOUND') throw error;
      throw new StoreError(
        `image "${reference}" is not in the store (bring it in with \`tzbuild load FILE\`)`,
        'IMAGE_NOT_FOUND',
        { cause: error },
      );
    }
  }

  private async fromLayout(spec: string): Promise<ResolvedImage> {
    const { dir, tag, digest } = parseLayoutSpec(spec);
    // Imported here only: the archive code (and tar-stream) is not needed by an ordinary FROM.
    const { openOciLayoutDir } = await import('./archive.js');
    return openOciLayoutDir(this.store, path.resolve(dir), digest ?? tag);
  }
}

/** Splits `DIR[:TAG]` or `DIR@sha256:…` (a colon before the last slash belongs to DIR). */
export function parseLayoutSpec(spec: string): { dir: string; tag?: string; digest?: string } {
  const at = spec.lastIndexOf('@');
  if (at !== -1) {
    const digest = spec.slice(at + 1);
    if (!isDigest(digest)) throw new StoreError(`oci-layout://${spec}: malformed digest`, 'BAD_REFERENCE');
    return { dir: spec.slice(0, at), digest };
  }
  const colon = spec.lastIndexOf(':');
  if (colon > spec.lastIndexOf('/') && colon !== -1) return { dir: spec.slice(0, colon), tag: spec.slice(colon + 1) };
  if (spec === '') throw new StoreError('oci-layout:// needs a directory', 'BAD_REFERENCE');
  return { dir: spec };
}
