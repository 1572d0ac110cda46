/**
 * Building layer entries for steps that synthesise a layer (COPY, ADD, WORKDIR) instead of
 * diffing an upperdir: a path-keyed set that fills in parent directories and yields entries in
 * layer order (a directory before its contents).
 */
import { posix } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { LayerEntry } from '../../core/ports.js';
import type { ImageView } from '../../core/ports.js';

/** Component-wise path order: `a` < `a/b` < `a-b`, so a directory directly precedes its contents. */
export function compareLayerPaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  }
  return left.length - right.length;
}

export class LayerEntrySet {
  private readonly entries = new Map<string, LayerEntry>();

  /**
   * Adds or replaces the entry at `entry.path` (later sources win, as with `cp`). `source` names
   * where it comes from, for the error about a name that would read as a whiteout.
   */
  set(entry: LayerEntry, source?: string): void {
    refuseWhiteoutName(entry.path, source);
    this.entries.set(entry.path, entry);
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Makes sure every parent of `path` has an entry: existing directories of the image keep their
   * metadata; missing ones are created with `created` (Docker: 0755, root unless --chown).
   */
  async addParents(view: ImageView, path: string, created: Omit<LayerEntry, 'path' | 'type'>): Promise<void> {
    const parts = path.split('/').slice(0, -1);
    for (let depth = 1; depth <= parts.length; depth++) {
      const parent = parts.slice(0, depth).join('/');
      if (this.entries.has(parent)) continue;
      const existing = await view.stat(`/${parent}`);
      if (existing?.isDirectory()) {
        this.set({
          path: parent,
          type: 'directory',
          mode: existing.mode & 0o7777,
          uid: existing.uid,
          gid: existing.gid,
          mtime: Math.floor(existing.mtimeMs / 1000),
        });
      } else {
        this.set({ ...created, path: parent, type: 'directory' });
      }
    }
  }

  /** Entries in layer order. */
  sorted(): LayerEntry[] {
    return [...this.entries.values()].sort((a, b) => compareLayerPaths(a.path, b.path));
  }
}

/** The prefix that marks a deletion in a layer tar (`.wh.NAME` deletes NAME of the layers below). */
const WHITEOUT_PREFIX = '.wh.';

/**
 * Refuses a file the step would write under a whiteout name: in the layer it would not be a file
 * but the deletion of its namesake below (`.wh..wh..opq` would empty the whole directory).
 */
function refuseWhiteoutName(path: string, source: string | undefined): void {
  const name = posix.basename(path);
  if (!name.startsWith(WHITEOUT_PREFIX)) return;
  const deleted = name.slice(WHITEOUT_PREFIX.length);
  throw new UserError(
    `${source ?? `/${path}`}: a file named "${WHITEOUT_PREFIX}*" cannot go into a layer, where it would delete ` +
      `${JSON.stringify(posix.join('/', posix.dirname(path), deleted))} instead; rename it or leave it out ` +
      '(.dockerignore)',
    'WHITEOUT_NAME',
  );
}

/** An image path (absolute) as a layer path (relative, no trailing slash). */
export function toLayerPath(imagePath: string): string {
  return posix.normalize(`/${imagePath}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Yields a list as an async iterable (what the layer writer consumes). */
export async function* iterate<T>(items: Iterable<T>): AsyncIterable<T> {
  yield* items;
}
