/**
 * A composition root of its own for `tzbuild check`: the store opened for reading only (base
 * image configs by name, the cache history). Apart from cli/compose.ts, so a check (run on every
 * save in an editor) does not load the build's store, runners, registry client and caches.
 */
import type { CheckSources } from '../checks/gather.js';
import { DiskCacheStore } from '../cache/cache-store.js';
import { FsContentStore } from '../store/content-store.js';
import { resolveImage, type ImageStore } from '../store/images.js';
import { IndexTagStore } from '../store/tag-store.js';

/**
 * What `tzbuild check` may read from the store at `root`: base image configs by name (the store
 * only, nothing pulled) and the cache history. No lock, no lease, no recovery, nothing created:
 * a check runs beside builds. Nothing at all when there is no store.
 */
export function checkSources(root: string): CheckSources {
  const content = FsContentStore.openForReading(root);
  if (content === undefined) return {};
  const images: ImageStore = { content, tags: new IndexTagStore(content.root) };
  // Made on first use: a build's checks read no history, and the step cache's LRU is not free.
  let cache: DiskCacheStore | undefined;
  return {
    imageConfig: async (reference, platform) => (await resolveImage(images, reference, platform)).config,
    history: (identity) => (cache ??= new DiskCacheStore(content.root)).readHistory(identity),
  };
}
