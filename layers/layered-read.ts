/**
 * Looking into a stack of snapshots as overlayfs would show it, without mounting a view: a RUN
 * step reads /etc/passwd and /etc/group to resolve its user, and the runners place --mount
 * mountpoints; a mount plus an unmount would cost two processes per step.
 *
 * Layers are given lowest first, as lowerdirs. A 0/0 character device is a whiteout, a
 * non-directory on the way hides everything below, and a directory marked opaque
 * (`trusted.overlay.opaque=y`, or `user.overlay.opaque` rootless) hides the lower layers' copies
 * of it. Symlinks are followed inside the image (absolute ones from its root, `..` stopping at the
 * root), so an answer never comes from outside the snapshots.
 *
 * The lookups are synchronous calls: a path in an image of 40 layers costs an lstat (and an
 * xattr read) per layer per component, each a few microseconds, where a promise per call was a
 * thread-pool round trip (docs/performance.md). In a layer
 * marked frozen (a complete snapshot: its dir is named after its content and never written
 * again) each answer is kept for the process: the steps of a build look up the same paths in the
 * same lower layers again and again, with one new layer on top each time.
 */
import { readFileSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { lstatOrUndefined } from '../sys/safe-path.js';
import { xattr } from '../sys/xattr.js';
import { UserError } from '../core/errors.js';
import { overlayXattrPrefix } from '../sys/userns.js';

const MAX_LINKS = 40;

const frozenLayers = new Set<string>();
/** lstat answers in frozen layers, by host path (null: absent). */
const frozenStats = new Map<string, Stats | null>();
const frozenOpaque = new Map<string, boolean>();

/** Declares `dir` (a complete snapshot) unchanging, so lookups in it may be remembered. */
export function markLayerFrozen(dir: string): void {
  frozenLayers.add(dir);
}

function layerLstat(layer: string, host: string): Stats | undefined {
  if (!frozenLayers.has(layer)) return lstatOrUndefined(host);
  let stats = frozenStats.get(host);
  if (stats === undefined) {
    stats = lstatOrUndefined(host) ?? null;
    frozenStats.set(host, stats);
  }
  return stats ?? undefined;
}

/** The entry overlayfs shows for a path: the layer it comes from and its stats. */
export interface LayerEntry {
  layer: string;
  stats: Stats;
}

/** The entry the merged view shows for `rel` (relative, already resolved); undefined when absent. */
export async function topmostEntry(lowerdirs: readonly string[], rel: string): Promise<LayerEntry | undefined> {
  const parts = rel.split('/').filter(Boolean);
  const layers = [...lowerdirs].reverse();
  for (const index of visibleLayers(layers, parts.slice(0, -1))) {
    const stats = layerLstat(layers[index]!, path.join(layers[index]!, ...parts));
    if (stats === undefined) continue;
    if (stats.isCharacterDevice() && stats.rdev === 0) return undefined;
    return { layer: layers[index]!, stats };
  }
  return undefined;
}

/**
 * `target` (absolute) with the image's symlinks followed, as path parts without a leading `/`.
 * Missing components are kept as written (a mountpoint may not exist yet).
 */
export async function resolveInLayers(lowerdirs: readonly string[], target: string): Promise<string[]> {
  const parts: string[] = [];
  let pending = target.split('/').filter(Boolean);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      parts.pop();
      continue;
    }
    const entry = await topmostEntry(lowerdirs, [...parts, name].join('/'));
    if (entry?.stats.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new UserError(`${target}: too many levels of symbolic links`, 'RUNNER_SPEC');
      const link = readlinkSync(path.join(entry.layer, ...parts, name));
      if (link.startsWith('/')) parts.length = 0;
      pending = [...link.split('/').filter(Boolean), ...pending];
      continue;
    }
    parts.push(name);
  }
  return parts;
}

/**
 * The content of `file` (absolute, in the image) as the merged view shows it; undefined when
 * absent or not a regular file. Files over `maxBytes` are an error.
 */
export async function readFileFromLayers(
  lowerdirs: readonly string[],
  file: string,
  maxBytes = 16 << 20,
): Promise<Buffer | undefined> {
  const parts = await resolveInLayers(lowerdirs, file);
  if (parts.length === 0) return undefined;
  const found = await topmostEntry(lowerdirs, parts.join('/'));
  if (found === undefined || !found.stats.isFile()) return undefined;
  if (found.stats.size > maxBytes) throw new Error(`${file} in the image is larger than ${maxBytes} bytes`);
  return readFileSync(path.join(found.layer, ...parts));
}

/**
 * Indexes into `layers` (top first) of the layers whose copy of directory `parts` the merged view
 * shows: walking down from the root, a whiteout or non-directory hides a path in every lower
 * layer, and an opaque directory hides the lower layers' copies of it and of everything under it.
 */
function visibleLayers(layers: readonly string[], parts: readonly string[]): number[] {
  let visible = layers.map((_, index) => index);
  for (let depth = 1; depth <= parts.length; depth++) {
    const next: number[] = [];
    for (const index of visible) {
      const host = path.join(layers[index]!, ...parts.slice(0, depth));
      let stats: Stats | undefined;
      try {
        stats = layerLstat(layers[index]!, host);
      } catch {
        continue; // unreadable: as if absent
      }
      if (stats === undefined) continue;
      if (!stats.isDirectory()) break;
      next.push(index);
      if (isOpaque(layers[index]!, host)) break;
    }
    visible = next;
  }
  return visible;
}

function isOpaque(layer: string, dir: string): boolean {
  const known = frozenOpaque.get(dir);
  if (known !== undefined) return known;
  let opaque = false;
  try {
    opaque = xattr().getAttributeSync(dir, `${overlayXattrPrefix()}opaque`)?.toString() === 'y';
  } catch {
    // No xattr support: nothing is opaque.
  }
  if (frozenLayers.has(layer)) frozenOpaque.set(dir, opaque);
  return opaque;
}
