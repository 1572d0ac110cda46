/**
 * What opening a store root involves besides its parts: the default root, this process's lease,
 * recovery after crashed processes, and this process's scratch dir. The parts themselves (content
 * store, tag store, snapshotter) are constructed by the composition root, cli/compose.ts.
 */
import { rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Snapshotter } from '../core/ports.js';
import type { FsContentStore } from './content-store.js';
import type { ImageStore } from './images.js';
import { processTmpDir } from './layout.js';
import { processLease } from './lease.js';
import { recoverStore, type RecoverOptions } from './recover.js';
import type { IndexTagStore } from './tag-store.js';

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

/** Options for {@link claimStoreRoot}. */
export interface OpenStoreOptions {
  /** Run {@link recoverStore} first (default true). */
  recover?: boolean | RecoverOptions;
}

export { defaultStoreRoot } from './layout.js';

/**
 * Claims the store at `root` (its layout already made) for this process: registers it as a live
 * user (its lease), cleans up after crashed ones (recover.ts) and makes its scratch dir, which it
 * returns.
 */
export async function claimStoreRoot(root: string, options: OpenStoreOptions = {}): Promise<string> {
  // The lease first: a concurrent recovery must see this process as live before it has work in flight.
  await processLease(root).open();
  if (options.recover !== false) await recoverStore(root, options.recover === true ? {} : options.recover);
  const tmpDir = processTmpDir(root);
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  // Empty at a clean exit (what is left after a crash, recovery removes).
  process.once('exit', () => rmSafe(tmpDir));
  return tmpDir;
}

function rmSafe(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty or already gone: recovery of a later run deals with it.
  }
}
