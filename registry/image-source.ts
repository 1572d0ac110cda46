/**
 * ImageSource that pulls, as `docker build` does: a base the store lacks is pulled (`--pull`
 * `missing`, the default), bare Docker Hub names included (`node:20` → `docker.io/library/node:20`,
 * through the configured mirrors); `always` asks the registry again for what a tag names now
 * (layers the store has are not downloaded again); `never` uses the store only. Image IDs,
 * digests and `oci-layout://` references are never pulled.
 */
import { StoreError } from '../core/errors.js';
import { isDigest } from '../core/oci.js';
import { configPlatform, formatPlatform, platformServes } from '../core/platform.js';
import type { ImageSource, PullPolicy, ResolvedImage, ResolveOptions } from '../core/ports.js';
import type { ImageStore } from '../store/images.js';
import type { RegistrySettings } from './endpoints.js';
import type { MirroredPullOptions } from './mirrors.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';

/**
 * Options of {@link RegistryImageSource}: the pull options every pull of the build shares; the
 * registry settings are read on the first pull (a build from the store never reads them).
 */
export type RegistryImageSourceOptions = Omit<MirroredPullOptions, 'onProgress' | 'onNotice' | 'settings'> & {
  settings: () => Promise<RegistrySettings>;
};

/** Local store first (or last, with `always`), then the registry. */
export class RegistryImageSource implements ImageSource {
  /** Pulls in flight by full name, so parallel stages asking for one image pull it once. */
  private readonly pulling = new Map<string, Promise<ResolvedImage>>();
  /** The last pull of each full name, whatever its platform: the next one waits for it. */
  private readonly byName = new Map<string, Promise<void>>();

  constructor(
    private readonly local: ImageSource,
    private readonly store: ImageStore,
    private readonly options: RegistryImageSourceOptions,
  ) {}

  async resolve(reference: string, options: ResolveOptions = {}): Promise<ResolvedImage> {
    const policy: PullPolicy = options.pull ?? 'missing';
    const ref = pullable(reference);
    if (policy === 'always' && ref !== undefined) return this.pullOnce(ref, options);
    const local = options.platform === undefined ? {} : { platform: options.platform };
    try {
      const stored = await this.local.resolve(reference, local);
      // A pulled image for another platform (a build for several pulls each): pull the wanted one.
      // One built or loaded here is what the name means: the builder refuses it, naming the FROM.
      const pulled = stored.registryDigest !== undefined;
      if (policy !== 'never' && ref !== undefined && pulled && !serves(stored, options))
        return this.pullOnce(ref, options);
      return stored;
    } catch (error) {
      if (error instanceof StoreError && error.code === 'NO_PLATFORM' && policy !== 'never' && ref !== undefined) {
        const pulled = (await this.local.resolve(reference).catch(() => undefined))?.registryDigest !== undefined;
        if (pulled) return this.pullOnce(ref, options);
      }
      if (!(error instanceof StoreError) || error.code !== 'IMAGE_NOT_FOUND' || ref === undefined) throw error;
      const full = formatReference(ref);
      // `node:20` pulled earlier is stored under its full name.
      if (full !== reference) {
        const stored = await this.local.resolve(full, local).catch(() => undefined);
        if (stored !== undefined && serves(stored, options)) return stored;
      }
      if (policy === 'never') {
        throw new StoreError(
          `image "${reference}" is not in the store and --pull=never forbids pulling it ` +
            `(bring it in with \`tzbuild pull ${reference}\` or \`tzbuild load FILE\`)`,
          'IMAGE_NOT_FOUND',
          { cause: error },
        );
      }
      return this.pullOnce(ref, options);
    }
  }

  private pullOnce(ref: ImageReference, options: ResolveOptions): Promise<ResolvedImage> {
    const full = `${formatReference(ref)} ${options.platform === undefined ? '' : formatPlatform(options.platform)}`;
    let pending = this.pulling.get(full);
    if (pending === undefined) {
      // Pulls of one name for several platforms go one after another: each adds its platform to
      // what the name holds, which must not race.
      const name = formatReference(ref);
      const before = this.byName.get(name) ?? Promise.resolve();
      // The client loads only when something is pulled: builds from the store never pay for it.
      pending = before
        .then(() => Promise.all([import('./mirrors.js'), this.options.settings()]))
        .then(([{ pullThroughMirrors }, settings]) =>
          pullThroughMirrors(this.store, ref, {
            ...this.options,
            settings,
            // A build for several platforms pulls each: the name keeps them all, as an index.
            ...(options.platform ? { platform: options.platform, mergePlatforms: true } : {}),
            ...(options.onNotice ? { onNotice: options.onNotice } : {}),
            ...(options.onProgress ? { onProgress: layerProgress(options.onProgress) } : {}),
          }),
        )
        .then((result) => result.image);
      this.pulling.set(full, pending);
      const settled = pending.then(
        () => undefined,
        () => undefined,
      );
      this.byName.set(name, settled);
      pending.then(
        () => this.pulling.delete(full),
        () => this.pulling.delete(full),
      );
    }
    return pending;
  }
}

/** Whether an image serves the platform asked for (any does when none was asked for). */
function serves(image: ResolvedImage, options: ResolveOptions): boolean {
  const offered = configPlatform(image.config);
  return options.platform === undefined || offered === undefined || platformServes(offered, options.platform);
}

/** The reference as a registry name, or undefined for what is never pulled (IDs, digests, layouts). */
function pullable(reference: string): ImageReference | undefined {
  if (isDigest(reference) || reference.includes('://') || /^[a-f0-9]{64}$/.test(reference)) return undefined;
  try {
    return parseReference(reference);
  } catch {
    return undefined;
  }
}

/** The pull's blob progress as the port's layer progress (pulls only download: no upload phases). */
function layerProgress(report: NonNullable<ResolveOptions['onProgress']>): MirroredPullOptions['onProgress'] {
  return (progress) => {
    if (progress.phase === 'exists' || progress.phase === 'downloading' || progress.phase === 'done') {
      report({ digest: progress.digest, phase: progress.phase, bytes: progress.bytes, total: progress.total });
    }
  };
}
