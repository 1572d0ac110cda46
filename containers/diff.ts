/**
 * `tzbuild diff`: what a container changed, read from its upperdir against the image's merged
 * view, in `docker diff`'s terms (dockerd 20.10 on overlay2 compares the two trees):
 * - `A` a path the image does not have, `C` one it has (a directory only when something under it
 *   changed or its mode or owner did), `D` a path that is gone;
 * - a whiteout (0/0 character device) is a `D`; an opaque directory (deleted and made again) hides
 *   everything the image had in it: each such child is a `D`, the directory itself a `C`;
 * - parents of a change are `C`. Sorted by path.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { LayerEntry } from '../core/ports.js';
import { topmostEntry } from '../layers/layered-read.js';

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  /** Absolute in the container. */
  path: string;
}

/**
 * The changes of `upper` (an overlay upperdir, walked as layer entries: whiteouts and opaque
 * markers interpreted) over `lowerdirs` (lowest first).
 */
export async function containerChanges(
  entries: AsyncIterable<LayerEntry>,
  upper: string,
  lowerdirs: readonly string[],
): Promise<Change[]> {
  const changes = new Map<string, ChangeKind>();
  const dirs: { rel: string; own: boolean }[] = [];
  for await (const entry of entries) {
    const rel = entry.path;
    const below = await topmostEntry(lowerdirs, rel);
    if (entry.type === 'whiteout') {
      if (below !== undefined) changes.set(rel, 'D');
      continue;
    }
    if (entry.type === 'opaque') {
      for (const name of lowerNames(lowerdirs, rel)) {
        const child = rel === '' ? name : `${rel}/${name}`;
        if (!changes.has(child) && !existsIn(upper, child) && (await topmostEntry(lowerdirs, child)))
          changes.set(child, 'D');
      }
      continue;
    }
    if (below === undefined) changes.set(rel, 'A');
    else if (entry.type !== 'directory') changes.set(rel, 'C');
    else dirs.push({ rel, own: ownChange(lstatSync(path.join(upper, rel)), below.stats) });
  }
  // Directories the image has: changed when they changed themselves or something under them did.
  const ancestors = new Set<string>();
  for (const rel of changes.keys())
    for (
      let parent = path.posix.dirname(rel);
      parent !== '.' && !ancestors.has(parent);
      parent = path.posix.dirname(parent)
    )
      ancestors.add(parent);
  for (const { rel, own } of dirs) if (own || ancestors.has(rel)) changes.set(rel, 'C');
  return [...changes]
    .map(([rel, kind]) => ({ kind, path: `/${rel}` }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Docker's test for a directory: mode and owner (its size and time say nothing). */
function ownChange(upper: Stats, lower: Stats): boolean {
  return upper.mode !== lower.mode || upper.uid !== lower.uid || upper.gid !== lower.gid;
}

/** Names any lowerdir has under `rel` (the caller checks which the merged view shows). */
function lowerNames(lowerdirs: readonly string[], rel: string): string[] {
  const names = new Set<string>();
  for (const layer of lowerdirs) {
    try {
      for (const name of readdirSync(path.join(layer, rel))) names.add(name);
    } catch {
      // Not a directory in that layer.
    }
  }
  return [...names].sort();
}

function existsIn(dir: string, rel: string): boolean {
  try {
    lstatSync(path.join(dir, rel));
    return true;
  } catch {
    return false;
  }
}

/** `docker diff`'s lines. */
export function formatChanges(changes: readonly Change[]): string {
  return changes.map((change) => `${change.kind} ${change.path}\n`).join('');
}
