/**
 * The store as the builder sees it: the ImageSource, LayerWriter and ImageCommitter ports over
 * one store root (content + tags + snapshots).
 */
import { StoreError } from '../errors.js';
import type { ImageCommitter, ImageSource, LayerEntry, LayerWriter, ResolvedImage } from '../ports.js';
import { openOciLayoutDir } from './archive.js';
import { commitImage, resolveImage, type ImageStore } from './images.js';
import type { ImageConfig } from './oci.js';
import type { LayerRef } from '../ports.js';
import { writeLayer } from './layer-writer.js';
import { walkUpperdir } from './upperdir.js';

/** FROM / --from references: `oci-layout://DIR[:TAG]`, or a name, digest or ID in the store. */
export class StoreImageSource implements ImageSource {
  constructor(private readonly store: ImageStore) {}

  async resolve(reference: string): Promise<ResolvedImage> {
    if (reference.startsWith('oci-layout://')) {
      const { dir, tag } = splitLayoutReference(reference.slice('oci-layout://'.length));
      return openOciLayoutDir(this.store, dir, tag);
    }
    try {
      return await resolveImage(this.store, reference);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'IMAGE_NOT_FOUND') {
        throw new StoreError(`image "${reference}" is not in the store (bring it in with \`tzbuild load FILE\`)`, 'IMAGE_NOT_FOUND');
      }
      throw error;
    }
  }
}

/** `DIR[:TAG]`: the tag is what follows the last `:` after the last `/`. */
function splitLayoutReference(text: string): { dir: string; tag?: string } {
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  if (colon > slash) return { dir: text.slice(0, colon), tag: text.slice(colon + 1) };
  return { dir: text };
}

/** Layers written straight into the content store, counting entries so empty diffs can be dropped. */
export class StoreLayerWriter implements LayerWriter {
  constructor(private readonly store: ImageStore) {}

  async write(entries: AsyncIterable<LayerEntry>, options: { sourceDateEpoch?: number } = {}): Promise<LayerRef & { entries: number }> {
    let count = 0;
    async function* counted(): AsyncIterable<LayerEntry> {
      for await (const entry of entries) {
        count += 1;
        yield entry;
      }
    }
    const layer = await writeLayer(this.store.content, counted(), options);
    return { ...layer, entries: count };
  }

  fromUpperdir(dir: string): AsyncIterable<LayerEntry> {
    return walkUpperdir(dir);
  }
}

export class StoreImageCommitter implements ImageCommitter {
  constructor(private readonly store: ImageStore) {}

  async commit(config: ImageConfig, layers: LayerRef[], tags: string[]) {
    const committed = await commitImage(this.store, tags, config, layers);
    return { imageId: committed.imageId, manifestDigest: committed.manifest.digest };
  }
}
