/**
 * Directory walkers that turn a tree into layer entries.
 *
 * Order: depth first, each directory's children sorted by name (byte order), so every directory
 * precedes its children and the same tree always gives the same sequence (Docker's walk order).
 * `walkUpperdir` reads an overlayfs upperdir: 0/0 char devices are whiteouts, a directory marked
 * opaque (`trusted.overlay.opaque=y`, or `user.overlay.` under userxattr) is followed by an opaque
 * marker, and overlay's own xattrs are dropped.
 *
 * xattrs: @napi-rs/xattr uses the l*xattr calls (checked: it does not follow symlinks), so a
 * symlink's own xattrs are read, never its target's.
 */
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { xattr } from '../sys/xattr.js';
import { isUtf8 } from 'node:buffer';
import { StoreError, UserError } from '../core/errors.js';
import { shownName } from '../core/names.js';
import { PATH_MAX, pastPathMax } from '../sys/safe-path.js';
import type { LayerEntry } from '../core/ports.js';

const overlayXattrPrefixes = ['trusted.overlay.', 'user.overlay.'];
/** Host-specific labels that must not leak into images. */
const droppedXattrs = new Set(['security.selinux']);

/**
 * Overlay's bookkeeping in an upperdir that a snapshot must not carry: copy-up origins (file
 * handles into this step's lowers), "impure" dir marks, the upper root's uuid, hardlink counts.
 * Opaque and whiteout marks stay: they are the layer's content.
 */
const bookkeepingXattrs = ['origin', 'impure', 'uuid', 'nlink', 'upper'];

/**
 * Removes overlay's bookkeeping xattrs from every entry of an unmounted upperdir, so that it can
 * serve as a lowerdir exactly as the unpacked layer would. Synchronous: a stat and a listxattr
 * per entry, far cheaper than unpacking the layer (a file creation per entry).
 */
export function clearOverlayBookkeeping(dir: string): void {
  const names = new Set(overlayXattrPrefixes.flatMap((prefix) => bookkeepingXattrs.map((name) => `${prefix}${name}`)));
  const visit = (full: string, isDir: boolean): void => {
    for (const name of xattr().listAttributesSync(full)) if (names.has(name)) xattr().removeAttributeSync(full, name);
    if (!isDir) return;
    for (const child of readdirSync(full, { withFileTypes: true }))
      visit(path.join(full, child.name), child.isDirectory());
  };
  visit(dir, true);
}

/** Layer entries for a plain directory tree (no whiteout interpretation). */
export function walkDir(dir: string): AsyncIterable<LayerEntry> {
  return walkChildren(dir, '', { overlay: false, firstPaths: new Map() });
}

/** Layer entries for an overlayfs upperdir (whiteouts and opaque dirs interpreted). */
export function walkUpperdir(dir: string): AsyncIterable<LayerEntry> {
  return walkChildren(dir, '', { overlay: true, firstPaths: new Map() });
}

interface WalkState {
  overlay: boolean;
  /** First path seen for each multiply-linked inode: later paths become hardlinks to it. */
  firstPaths: Map<string, string>;
}

async function* walkChildren(root: string, dirRel: string, state: WalkState): AsyncGenerator<LayerEntry> {
  // Synchronous metadata calls, as in readXattrs: cheaper than a thread-pool round trip each.
  // Names are read as bytes: one that is not UTF-8 would not survive a round trip through a string.
  const names = readdirSync(path.join(root, dirRel), { encoding: 'buffer' }).sort(Buffer.compare);
  for (const bytes of names) {
    const relBytes = dirRel === '' ? bytes : Buffer.concat([Buffer.from(`${dirRel}/`), bytes]);
    if (!isUtf8(bytes))
      throw unwritableEntry(
        relBytes,
        'has a name that is not UTF-8, which tzbuild cannot put in a layer byte for byte',
      );
    const rel = relBytes.toString('utf8');
    if (pastPathMax(path.join(root, rel)))
      throw unwritableEntry(relBytes, `is too deep: its host path reaches PATH_MAX (${PATH_MAX} bytes)`);
    const entries = await entriesFor(root, rel, state);
    yield* entries;
    if (entries[0]?.type === 'directory') yield* walkChildren(root, rel, state);
  }
}

/** The entries one path produces: usually one; a directory made opaque gives two. */
async function entriesFor(root: string, rel: string, state: WalkState): Promise<LayerEntry[]> {
  const full = path.join(root, rel);
  const stats = lstatSync(full, { bigint: true });
  const allXattrs = await readXattrs(full);
  const base = {
    path: rel,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtime: Number(stats.mtimeNs / 1_000_000_000n),
  };
  const overlayMarks = state.overlay ? overlayMarksOf(rel, allXattrs) : undefined;
  const xattrs = imageXattrs(allXattrs);
  if (stats.isDirectory()) {
    const dir: LayerEntry = { ...base, type: 'directory', xattrs };
    return overlayMarks?.opaque ? [dir, { ...base, type: 'opaque' }] : [dir];
  }
  if (state.overlay && (isWhiteoutDevice(stats) || overlayMarks?.whiteout)) {
    return [{ ...base, type: 'whiteout' }];
  }
  if (stats.nlink > 1n) {
    const inode = `${stats.dev}:${stats.ino}`;
    const first = state.firstPaths.get(inode);
    if (first !== undefined) return [{ ...base, type: 'hardlink', linkname: first }];
    state.firstPaths.set(inode, rel);
  }
  return [await plainEntry(full, stats, base, xattrs)];
}

async function plainEntry(
  full: string,
  stats: BigIntStats,
  base: Pick<LayerEntry, 'path' | 'mode' | 'uid' | 'gid' | 'mtime'>,
  xattrs: Record<string, Buffer>,
): Promise<LayerEntry> {
  if (stats.isFile()) return { ...base, type: 'file', size: Number(stats.size), source: full, xattrs };
  if (stats.isSymbolicLink()) return { ...base, type: 'symlink', linkname: readlinkSync(full), xattrs };
  if (stats.isFIFO()) return { ...base, type: 'fifo', xattrs };
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    const { major, minor } = splitDevice(stats.rdev);
    return { ...base, type: stats.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor, xattrs };
  }
  throw new StoreError(`cannot archive ${full}: sockets and unknown file types have no place in a layer`, 'BAD_ENTRY');
}

/**
 * Every xattr of `full` itself (never a symlink's target), names sorted. Callers filter what
 * belongs in an image (the walkers drop overlay's own and `security.selinux`).
 */
export async function readXattrs(full: string): Promise<Record<string, Buffer>> {
  const xattrs: Record<string, Buffer> = {};
  // Synchronous calls: one cheap syscall each, where an async call per file cost a thread-pool
  // round trip (docs/performance.md).
  for (const name of xattr().listAttributesSync(full).sort()) {
    const value = xattr().getAttributeSync(full, name);
    if (value !== null) xattrs[name] = value;
  }
  return xattrs;
}

/** Overlay's own markers on a path; refuses features a layer tar cannot express. */
function overlayMarksOf(rel: string, xattrs: Record<string, Buffer>): { opaque: boolean; whiteout: boolean } {
  const marks = { opaque: false, whiteout: false };
  for (const prefix of overlayXattrPrefixes) {
    if (xattrs[`${prefix}opaque`]?.toString() === 'y') marks.opaque = true;
    if (xattrs[`${prefix}whiteout`] !== undefined) marks.whiteout = true;
    if (xattrs[`${prefix}redirect`] !== undefined || xattrs[`${prefix}metacopy`] !== undefined) {
      // redirect_dir / metacopy make the upperdir depend on the lowers; mount without them.
      throw new StoreError(
        `upperdir entry ${rel} uses overlay redirect/metacopy, which a layer cannot express`,
        'OVERLAY_FEATURE',
      );
    }
  }
  return marks;
}

function imageXattrs(xattrs: Record<string, Buffer>): Record<string, Buffer> {
  const kept: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(xattrs)) {
    if (droppedXattrs.has(name) || overlayXattrPrefixes.some((prefix) => name.startsWith(prefix))) continue;
    kept[name] = value;
  }
  return kept;
}

function isWhiteoutDevice(stats: BigIntStats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0n;
}

/** Linux dev_t encoding (glibc's gnu_dev_major/minor). */
export function splitDevice(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** An entry a layer cannot hold (a RUN made it): named, so the user can change what made it. */
function unwritableEntry(rel: Buffer, why: string): UserError {
  return new UserError(`${shownName(rel)} ${why}`, 'LAYER_ENTRY_UNWRITABLE');
}
