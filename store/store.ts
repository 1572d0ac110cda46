/**
 * One call to open everything that lives in a store root: the composition root uses this rather
 * than knowing each part's constructor.
 */
import { rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Snapshotter } from '../core/ports.js';
import { FsContentStore } from './content-store.js';
import type { ImageStore } from './images.js';
import { processTmpDir } from './layout.js';
import { processLease } from './lease.js';
import { recoverStore, type RecoverOptions } from './recover.js';
import { FsSnapshotter } from './snapshotter.js';
import { IndexTagStore } from './tag-store.js';

/** A store root opened: blobs, tags and snapshots. */
export interface OpenedStore extends ImageStore {
  root: string;
  content: FsContentStore;
  tags: IndexTagStore;
  snapshotter: Snapshotter;
  /**
   * This process's scratch dir, `tmp/<owner id>/`: the place for upperdirs, views and runner
   * state (BuildDeps.tmpDir, the runner's tmpRoot), so recovery knows whose they are.
   */
  tmpDir: string;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** Run {@link recoverStore} first (default true). */
  recover?: boolean | RecoverOptions;
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

/**
 * Opens (creating when missing) the store at `root`: registers this process as a live user
 * (its lease), cleans up after crashed ones (recover.ts) and makes this process's scratch dir.
 */
export async function openStore(root: string = defaultStoreRoot(), options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const content = await FsContentStore.open(root);
  // Opening the content store created the layout; the tag store needs nothing more.
  const tags = new IndexTagStore(content.root);
  // The lease first: a concurrent recovery must see this process as live before it has work in flight.
  await processLease(content.root).open();
  if (options.recover !== false) await recoverStore(content.root, options.recover === true ? {} : options.recover);
  const tmpDir = processTmpDir(content.root);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  // Empty at a clean exit (what is left after a crash, recovery removes).
  process.once('exit', () => rmSafe(tmpDir));
  return { root: content.root, content, tags, snapshotter: new FsSnapshotter(content), tmpDir };
}

function rmSafe(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty or already gone: recovery of a later run deals with it.
  }
}
