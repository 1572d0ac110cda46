/**
 * One call to open everything that lives in a store root: the composition root uses this rather
 * than knowing each part's constructor.
 */
import os from 'node:os';
import path from 'node:path';
import type { Snapshotter } from '../ports.js';
import { FsContentStore } from './content-store.js';
import type { ImageStore } from './images.js';
import { FsSnapshotter } from './snapshotter.js';
import { IndexTagStore } from './tag-store.js';

/** A store root opened: blobs, tags and snapshots. */
export interface OpenedStore extends ImageStore {
  root: string;
  content: FsContentStore;
  tags: IndexTagStore;
  snapshotter: Snapshotter;
}

/**
 * The default store root: `$TZBUILD_ROOT`, else `/var/lib/tzbuild` for root, else
 * `$XDG_DATA_HOME/tzbuild` (`~/.local/share/tzbuild`).
 */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TZBUILD_ROOT) return path.resolve(env.TZBUILD_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/tzbuild';
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'tzbuild');
}

/** Opens (creating when missing) the store at `root`. */
export async function openStore(root: string = defaultStoreRoot()): Promise<OpenedStore> {
  const content = await FsContentStore.open(root);
  const tags = await IndexTagStore.open(root);
  return { root: content.root, content, tags, snapshotter: new FsSnapshotter(content) };
}
