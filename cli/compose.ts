/**
 * The composition root: the only place that constructs concrete ports. Commands ask it for a
 * store (and, for builds, the full set of build dependencies).
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BuildDeps } from '../builder/session.js';
import type { ProgressSink } from '../ports.js';
import { DiskCacheStore } from '../cache/cache-store.js';
import { FsContentStore } from '../image/content-store.js';
import { IndexTagStore } from '../image/tag-store.js';
import { FsSnapshotter } from '../image/snapshotter.js';
import { initStoreLayout } from '../image/layout.js';
import type { ImageStore } from '../image/images.js';
import { StoreImageCommitter, StoreImageSource, StoreLayerWriter } from '../image/store-adapters.js';
import { NamespaceRunner } from '../runners/namespaces.js';

/** `--root`, else $TZBUILD_ROOT, else /var/lib/tzbuild for root and ~/.local/share/tzbuild otherwise. */
export function storeRoot(flag?: string): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = process.env.TZBUILD_ROOT;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.getuid?.() === 0) return '/var/lib/tzbuild';
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'tzbuild');
}

export interface OpenedStore {
  root: string;
  images: ImageStore;
  deps: BuildDeps;
  /** Where the stat cache of one context directory lives. */
  statCachePath(contextDir: string): string;
  close(): Promise<void>;
}

/** Opens (creating if needed) the store at `root`, wired for building with progress to `sink`. */
export async function openStore(root: string, sink: ProgressSink): Promise<OpenedStore> {
  const layout = await initStoreLayout(root);
  const content = await FsContentStore.open(layout.root);
  const tags = await IndexTagStore.open(layout.root);
  const images: ImageStore = { content, tags };
  const deps: BuildDeps = {
    content,
    snapshotter: new FsSnapshotter(content),
    layers: new StoreLayerWriter(images),
    images: new StoreImageSource(images),
    committer: new StoreImageCommitter(images),
    cache: new DiskCacheStore(layout.root),
    runner: new NamespaceRunner({ tmpRoot: layout.tmp }),
    sink,
    tmpDir: layout.tmp,
  };
  return {
    root: layout.root,
    images,
    deps,
    statCachePath: (contextDir) => join(layout.root, 'cache', 'contexts', `${createHash('sha256').update(contextDir).digest('hex').slice(0, 32)}.json`),
    close: async () => {
      await sink.close?.();
    },
  };
}

/** A store for commands that only read or tag images (no progress). */
export async function openImageStore(root: string): Promise<ImageStore> {
  const layout = await initStoreLayout(root);
  return { content: await FsContentStore.open(layout.root), tags: await IndexTagStore.open(layout.root) };
}
