/**
 * COPY/ADD placement rules, Docker's: a directory source copies its contents into the
 * destination; a file goes into the destination when that is a directory (named with a trailing
 * `/` or existing in the image), else becomes it. Ownership is root unless --chown; modes are the
 * source's unless --chmod; times are the source's.
 */
import { isUtf8 } from 'node:buffer';
import { readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import type { LayerEntry } from '../../core/ports.js';
import type { BuildContext, ContextEntry, ContextSource, IgnoreMatcher } from '../context/index.js';
import { kindAt } from '../rootfs.js';
import { notUtf8 } from '../context/errors.js';
import type { ImageView } from '../../core/ports.js';
import { readXattrs, splitDevice } from '../../layers/upperdir.js';
import { type LayerEntrySet, toLayerPath } from './layer-entries.js';

export interface Placement {
  /** Absolute destination inside the image (symlinks of the image already resolved). */
  dest: string;
  /** The destination was written as a directory (trailing `/`, or several sources). */
  destIsDir: boolean;
  uid: number;
  gid: number;
  /** --chmod bits, applied to every copied file and directory. */
  chmod?: number;
  /** The image being copied into, to see what already exists there. */
  destView: ImageView;
  /** COPY --parents: each source keeps its path (below a `/./` pivot when the word has one). */
  parents?: boolean;
  /** COPY/ADD --exclude: paths relative to a directory source (a file source's name) to leave out. */
  exclude?: IgnoreMatcher;
}

/** Sources to copy and the tree they are read from. */
export interface SourceGroup {
  tree: BuildContext;
  sources: ContextSource[];
  /** Keep the files' own owners (ADD of a local archive without --chown). */
  keepOwner?: boolean;
}

/** Adds the entries of a source group to `set`, placed per Docker's rules. */
export async function placeSources(set: LayerEntrySet, group: SourceGroup, placement: Placement): Promise<void> {
  const hardlinks = new Map<string, string>();
  const { tree, sources } = group;
  for (const source of sources) {
    const isDir = source.stat.isDirectory();
    const intoDir = placement.destIsDir || (await kindAt(placement.destView, placement.dest)) === 'directory';
    const base = placement.parents
      ? posix.join(placement.dest, keptPath(source))
      : isDir || !intoDir
        ? placement.dest
        : posix.join(placement.dest, posix.basename(source.rel));
    for await (const entry of tree.walk(source)) {
      if (
        placement.exclude !== undefined &&
        entry.rel !== '.' &&
        placement.exclude.matches(isDir ? entry.rel : posix.basename(source.rel))
      )
        continue;
      const target = entry.rel === '.' ? base : posix.join(base, entry.rel);
      if (entry.rel === '.' && isDir) {
        // An existing destination directory keeps its metadata. A missing one is made the way
        // BuildKit's `mkdir -p` makes it: 0755 and the --chown owner, whatever the source dir's
        // mode (a 0700 context must not give a 0700 /app); only its time comes from the source.
        if ((await kindAt(placement.destView, target)) === 'directory') continue;
        const mtime = Math.floor(entry.stat.mtimeMs / 1000);
        set.set({
          path: toLayerPath(target),
          type: 'directory',
          mode: 0o755,
          uid: placement.uid,
          gid: placement.gid,
          mtime,
        });
        continue;
      }
      if (!isUtf8(entry.relBytes)) throw notUtf8(joinedBytes(source, entry));
      const entryPlacement = group.keepOwner ? { ...placement, uid: entry.stat.uid, gid: entry.stat.gid } : placement;
      set.set(await entryFor(toLayerPath(target), entry, entryPlacement, hardlinks, tree), shownSource(source, entry));
    }
  }
}

/** The source-relative bytes of an entry below a source (the source word is text from the Dockerfile). */
function joinedBytes(source: ContextSource, entry: ContextEntry): Buffer {
  return Buffer.concat([Buffer.from(`${source.rel}/`), entry.relBytes]);
}

/** A copied entry as the user named it: the source word's path, plus the entry's below a directory. */
function shownSource(source: ContextSource, entry: ContextEntry): string {
  return entry.rel === '.' ? source.rel : posix.join(source.rel, entry.rel);
}

/** The path --parents keeps: the whole context-relative path, or what follows a `/./` pivot. */
function keptPath(source: ContextSource): string {
  const pivot = source.source.indexOf('/./');
  if (pivot < 0) return source.rel;
  const prefix = posix.normalize(source.source.slice(0, pivot)).replace(/^\/+/, '');
  return posix.relative(prefix === '.' ? '' : prefix, source.rel);
}

async function entryFor(
  path: string,
  entry: ContextEntry,
  placement: Placement,
  hardlinks: Map<string, string>,
  tree: BuildContext,
): Promise<LayerEntry> {
  const stat = entry.stat;
  const mode = placement.chmod ?? stat.mode & 0o7777;
  const base = { path, mode, uid: placement.uid, gid: placement.gid, mtime: Math.floor(stat.mtimeMs / 1000) };
  // Read again unless the stat cache saw none on this very stat (xattr changes move the ctime).
  const xattrs = stat.isSymbolicLink() || tree.knownBare(entry) ? {} : await readXattrs(entry.abs).catch(() => ({}));
  const withXattrs = Object.keys(xattrs).length > 0 ? { xattrs } : {};
  if (stat.isDirectory()) return { ...base, type: 'directory', ...withXattrs };
  if (stat.isSymbolicLink()) return { ...base, mode: 0o777, type: 'symlink', linkname: await readlink(entry.abs) };
  if (stat.isFile()) {
    const first = linkTarget(stat, path, hardlinks);
    if (first !== undefined) return { ...base, type: 'hardlink', linkname: first };
    // The bytes the COPY's digest read, when it read this file (no second open); else read when written.
    const body = tree.takeBody(entry);
    const from = body === undefined ? { source: entry.abs } : { content: body };
    return { ...base, type: 'file', size: stat.size, ...from, ...withXattrs };
  }
  return { ...base, ...deviceOf(stat) };
}

/** The first layer path of a multiply-linked file, so later ones become hardlinks to it. */
function linkTarget(stat: Stats, path: string, hardlinks: Map<string, string>): string | undefined {
  if (stat.nlink < 2) return undefined;
  const key = `${stat.dev}:${stat.ino}`;
  const first = hardlinks.get(key);
  if (first === undefined) hardlinks.set(key, path);
  return first;
}

function deviceOf(stat: Stats): Pick<LayerEntry, 'type' | 'devmajor' | 'devminor'> {
  const type = stat.isCharacterDevice() ? 'char' : stat.isBlockDevice() ? 'block' : 'fifo';
  const { major, minor } = splitDevice(BigInt(stat.rdev));
  return { type, devmajor: major, devminor: minor };
}

/** A new file with given content (heredocs, downloads), owned and moded per the placement. */
export function contentEntry(
  path: string,
  content: Buffer,
  placement: Placement,
  mode: number,
  mtime: number,
): LayerEntry {
  return {
    path: toLayerPath(path),
    type: 'file',
    mode: placement.chmod ?? mode,
    uid: placement.uid,
    gid: placement.gid,
    mtime,
    size: content.length,
    content,
  };
}
