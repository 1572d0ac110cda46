/**
 * Layers of imported cache records are fetched only when something needs their bytes: a step that
 * unpacks them (RUN, COPY, WORKDIR, a RUN mount: all go through Snapshotter.prepare), the image
 * commit, or a cache export. A hit followed only by hits (a whole builder stage whose result
 * the final stage copies from a cached step) never downloads anything.
 *
 * The wrappers below sit in front of the build's content store, snapshotter and committer: the
 * content store reports an offered layer as present (so the step cache counts the hit), the
 * other two fetch what they are about to use.
 */
import type { Readable } from 'node:stream';
import type { Digest, ImageConfig } from '../../core/oci.js';
import { mapLimit } from '../../registry/parallel.js';
import type { ContentStore, ImageCommitter, LayerRef, Snapshotter } from '../../core/ports.js';
import type { ImportedCache } from './import.js';

interface Offer {
  source: ImportedCache;
  /** Run once the layer is in the store (writing the records that point at it). */
  onFetched: (() => Promise<void>)[];
}

export class LazyLayers {
  private readonly offers = new Map<Digest, Offer>();
  private readonly fetches = new Map<Digest, Promise<void>>();
  /** Layers actually downloaded. */
  fetched = 0;

  constructor(private readonly content: ContentStore) {}

  /** `source` can supply `diffId`; `onFetched` runs after it did. */
  offer(diffId: Digest, source: ImportedCache, onFetched: () => Promise<void>): void {
    const offer = this.offers.get(diffId) ?? { source, onFetched: [] };
    offer.onFetched.push(onFetched);
    this.offers.set(diffId, offer);
  }

  canFetch(diffId: Digest): boolean {
    return this.offers.has(diffId);
  }

  /** Makes sure every layer of `layers` is in the store (fetching offered ones, each once). */
  async ensure(layers: readonly { diffId: Digest }[]): Promise<void> {
    await mapLimit(
      layers.filter((layer) => this.offers.has(layer.diffId)),
      3,
      (layer) => this.ensureOne(layer.diffId),
    );
  }

  private ensureOne(diffId: Digest): Promise<void> {
    let pending = this.fetches.get(diffId);
    if (pending === undefined) {
      pending = this.fetch(diffId);
      // A failed fetch may be tried again by the next user.
      pending.catch(() => this.fetches.delete(diffId));
      this.fetches.set(diffId, pending);
    }
    return pending;
  }

  private async fetch(diffId: Digest): Promise<void> {
    const offer = this.offers.get(diffId);
    if (offer === undefined) return;
    if (!(await this.content.has(diffId))) {
      await offer.source.fetchLayer(this.content, diffId);
      this.fetched++;
    }
    for (const done of offer.onFetched.splice(0)) await done();
  }
}

/** The build's content store: offered layers count as present. */
export class LazyContentStore implements ContentStore {
  readonly root: string;

  constructor(
    private readonly inner: ContentStore,
    private readonly lazy: LazyLayers,
  ) {
    this.root = inner.root;
  }

  async has(digest: Digest): Promise<boolean> {
    return this.lazy.canFetch(digest) || this.inner.has(digest);
  }

  blobPath(digest: Digest): string {
    return this.inner.blobPath(digest);
  }

  size(digest: Digest): Promise<number> {
    return this.inner.size(digest);
  }

  putBytes(data: Uint8Array | string): Promise<{ digest: Digest; size: number }> {
    return this.inner.putBytes(data);
  }

  putStream(stream: Readable, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    return this.inner.putStream(stream, expected);
  }

  getJson<T>(digest: Digest, maxBytes?: number): Promise<T> {
    return this.inner.getJson<T>(digest, maxBytes);
  }

  delete(digest: Digest): Promise<void> {
    return this.inner.delete(digest);
  }

  list(): Promise<Digest[]> {
    return this.inner.list();
  }
}

/** Fetches the layers a step is about to unpack. */
export function lazySnapshotter(inner: Snapshotter, lazy: LazyLayers): Snapshotter {
  return {
    async prepare(layers: LayerRef[]): Promise<string[]> {
      await lazy.ensure(layers);
      return inner.prepare(layers);
    },
    async view(layers: LayerRef[]) {
      await lazy.ensure(layers);
      return inner.view(layers);
    },
    async mount(layers: LayerRef[]) {
      await lazy.ensure(layers);
      return inner.mount(layers);
    },
    // The adopted layer was just made here: nothing to fetch.
    ...(inner.adopt === undefined
      ? {}
      : {
          adopt: (layers: LayerRef[], dir: string, from?: 'upperdir' | 'unpacked') => inner.adopt!(layers, dir, from),
        }),
  };
}

/** Fetches the image's layers before it is committed (an image never points at a missing blob). */
export function lazyCommitter(inner: ImageCommitter, lazy: LazyLayers): ImageCommitter {
  return {
    async commit(config: ImageConfig, layers: LayerRef[], tags: string[]) {
      await lazy.ensure(layers);
      return inner.commit(config, layers, tags);
    },
    commitIndex: (manifests, tags) => inner.commitIndex(manifests, tags),
  };
}
