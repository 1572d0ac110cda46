/**
 * The store's functions behind the builder's ports (LayerWriter, ImageCommitter),
 * for the composition root to construct.
 */
import type { ImageCommitter, LayerEntry, LayerRef, LayerWriteOptions, LayerWriter } from '../core/ports.js';
import { commitImage, commitIndex, loadManifest, manifestDescriptor, type ImageStore } from './images.js';
import type { Digest, ImageConfig } from '../core/oci.js';
import { walkUpperdir } from '../layers/upperdir.js';

/** LayerWriter into the store's content store. */
export class StoreLayerWriter implements LayerWriter {
  constructor(private readonly store: ImageStore) {}

  async write(
    entries: AsyncIterable<LayerEntry>,
    options: LayerWriteOptions = {},
  ): Promise<LayerRef & { entries: number; files?: string }> {
    let count = 0;
    async function* counted(): AsyncGenerator<LayerEntry> {
      for await (const entry of entries) {
        count++;
        yield entry;
      }
    }
    // The tar writer loads only when a step writes a layer (never in a fully cached build).
    const { writeLayer } = await import('../layers/layer-writer.js');
    const layer = await writeLayer(this.store.content, counted(), options);
    return { ...layer, entries: count };
  }

  fromUpperdir(dir: string): AsyncIterable<LayerEntry> {
    return walkUpperdir(dir);
  }
}

/** ImageCommitter: config + manifest blobs, then tags. */
export class StoreImageCommitter implements ImageCommitter {
  constructor(private readonly store: ImageStore) {}

  async commit(
    config: ImageConfig,
    layers: LayerRef[],
    tags: string[],
  ): Promise<{ imageId: Digest; manifestDigest: Digest }> {
    const committed = await commitImage(this.store, tags, config, layers);
    return { imageId: committed.imageId, manifestDigest: committed.manifest.digest };
  }

  async commitIndex(manifests: Digest[], tags: string[]): Promise<Digest> {
    const descriptors = [];
    for (const digest of manifests) {
      const image = await loadManifest(this.store, digest);
      descriptors.push(manifestDescriptor({ digest, size: await this.store.content.size(digest) }, image.config));
    }
    return (await commitIndex(this.store, tags, descriptors)).digest;
  }
}
