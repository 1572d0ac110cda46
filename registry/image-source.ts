/**
 * ImageSource that pulls: the store first; a reference that names its registry explicitly
 * (`localhost:5000/app:1`, `ghcr.io/x/y`) and is not in the store is pulled and tagged under its
 * full name. Bare Docker Hub names (`alpine`) stay local-only unless `pullImplicit` is set, so a
 * build never reaches the network for a name the user may have meant locally.
 */
import { StoreError } from '../core/errors.js';
import type { ImageSource, ResolvedImage } from '../core/ports.js';
import type { ImageStore } from '../store/images.js';
import { isDigest } from '../core/oci.js';
import type { PullOptions } from './pull.js';
import { formatReference, hasExplicitRegistry, parseReference, type ImageReference } from './reference.js';

/** Options of {@link RegistryImageSource}. */
export interface RegistryImageSourceOptions extends PullOptions {
  /** Also pull names without a registry (`alpine` → docker.io) when they are not in the store. */
  pullImplicit?: boolean;
}

/** Local store first, then the registry. */
export class RegistryImageSource implements ImageSource {
  /** Pulls in flight by full name, so parallel stages asking for one image pull it once. */
  private readonly pulling = new Map<string, Promise<ResolvedImage>>();

  constructor(
    private readonly local: ImageSource,
    private readonly store: ImageStore,
    private readonly options: RegistryImageSourceOptions = {},
  ) {}

  async resolve(reference: string): Promise<ResolvedImage> {
    try {
      return await this.local.resolve(reference);
    } catch (error) {
      if (!(error instanceof StoreError) || error.code !== 'IMAGE_NOT_FOUND') throw error;
      const ref = this.pullable(reference);
      if (ref === undefined) throw error;
      const full = formatReference(ref);
      if (full !== reference) {
        const stored = await this.local.resolve(full).catch(() => undefined);
        if (stored !== undefined) return stored;
      }
      return this.pullOnce(full, ref);
    }
  }

  private pullable(reference: string): ImageReference | undefined {
    if (isDigest(reference) || reference.includes('://')) return undefined;
    if (!hasExplicitRegistry(reference) && !this.options.pullImplicit) return undefined;
    try {
      return parseReference(reference);
    } catch {
      return undefined;
    }
  }

  private pullOnce(full: string, ref: ImageReference): Promise<ResolvedImage> {
    let pending = this.pulling.get(full);
    if (pending === undefined) {
      // The client loads only when something is pulled: builds from the store never pay for it.
      pending = import('./pull.js')
        .then(({ pullImage }) => pullImage(this.store, ref, this.options))
        .then((result) => result.image);
      this.pulling.set(full, pending);
      pending.then(
        () => this.pulling.delete(full),
        () => this.pulling.delete(full),
      );
    }
    return pending;
  }
}
