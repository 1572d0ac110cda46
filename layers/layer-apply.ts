/**
 * Safe layer apply: unpacks a (possibly compressed) layer tar into a directory and never writes
 * outside it, whatever the tar holds. Two formats:
 * - 'overlay': a snapshot usable as an overlay lowerdir: whiteouts become 0/0 char devices, opaque
 *   markers become `trusted.overlay.opaque=y` on the directory (`user.overlay.opaque` rootless).
 * - 'merged': applied onto an existing tree: a whiteout deletes its path, an opaque marker empties
 *   the directory (except what this same layer already put there).
 * Every entry path is resolved component by component inside the root (see safe-path.ts);
 * absolute names, `..`, symlinks leading out, hardlinks to outside and whiteouts aimed outside are
 * refused with a StoreError naming the entry. Device nodes are dropped (see isHostDevice).
 */
import { linkSync, lutimesSync, rmSync } from 'node:fs';
import { readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { xattr } from '../sys/xattr.js';
import { StoreError } from '../core/errors.js';
import { createNode, type FileBodySink, openFileNoFollow, setMetadata, writeBody } from './apply-node.js';
import { DeviceMaker } from '../sys/device-nodes.js';
import { decompress } from './decompress.js';
import {
  entryComponents,
  EscapeError,
  lstatOrUndefined,
  NAME_MAX,
  PATH_MAX,
  pastPathMax,
  resolveDir,
  resolveParent,
} from '../sys/safe-path.js';
import { shownName } from '../core/names.js';
import { opaqueMarker, whiteoutPrefix, type TarHeader } from './tar-format.js';
import { readTar, TarFormatError } from './tar-reader.js';
import { overlayXattrPrefix } from '../sys/userns.js';

/** Options for {@link applyLayer}. */
export interface ApplyLayerOptions {
  format: 'overlay' | 'merged';
  /** Cap on decompressed bytes (default: see decompress.ts). */
  maxBytes?: number;
  /** Names the layer in error messages (a digest or a file name). */
  label?: string;
  /**
   * The target dir is empty and only this apply writes into it: a path this apply has not
   * created cannot exist there, so it is not looked up (snapshot unpacks, the layer writer's).
   */
  fresh?: boolean;
}

interface ApplyContext {
  root: string;
  format: 'overlay' | 'merged';
  label: string;
  /** Host paths this layer created, which an opaque marker in 'merged' format must keep. */
  created: Set<string>;
  /**
   * Host dirs holding nothing this apply did not create (a fresh root, dirs it made): there, a
   * name not in `created` is known to be absent without an lstat.
   */
  fresh: Set<string>;
  /** Parent dirs resolved so far (in-layer path → host dir); forgotten when anything is removed. */
  parents: Map<string, string>;
  /** Directory mtimes, set at the end because adding children changes them. */
  dirTimes: { target: string; mtime: number }[];
  /** Makes whiteouts and FIFOs (one helper process for the whole layer). */
  devices: DeviceMaker;
}

/** Unpacks `tar` into `targetDir` (which must exist). */
export async function applyLayer(
  tar: Readable | AsyncIterable<Buffer>,
  targetDir: string,
  options: ApplyLayerOptions,
): Promise<void> {
  const applier = await LayerApplier.open(targetDir, options);
  try {
    const plain = await decompress(tar, { maxBytes: options.maxBytes, label: applier.label });
    for await (const { header, body } of readTar(plain)) await applier.apply(header, body);
  } catch (err) {
    await applier.abandon();
    throw applier.explain(err);
  }
  await applier.finish();
}

/**
 * Applies entries one at a time: from a tar ({@link applyLayer}), or from the layer writer, which
 * unpacks the layer it writes in the same pass (it pushes each file's body as it reads it).
 */
export class LayerApplier {
  private current = '';

  private constructor(private readonly ctx: ApplyContext) {}

  static async open(targetDir: string, options: ApplyLayerOptions): Promise<LayerApplier> {
    const root = await realpath(targetDir);
    return new LayerApplier({
      root,
      format: options.format,
      label: options.label ?? 'layer',
      created: new Set(),
      fresh: new Set(options.fresh === true ? [root] : []),
      parents: new Map(),
      dirTimes: [],
      devices: new DeviceMaker(),
    });
  }

  get label(): string {
    return this.ctx.label;
  }

  /** The dir entries are applied into (its real path). */
  get root(): string {
    return this.ctx.root;
  }

  /** Applies one entry, its body (files) read from `body`. */
  async apply(header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const file = await this.begin(header);
    if (file !== undefined) await writeBody(file, body);
  }

  /**
   * Applies one entry; for a file, returns the sink its body goes through (`end` completes it).
   * Errors are raw: {@link explain} turns them into the StoreError the caller throws.
   */
  async begin(header: TarHeader): Promise<FileBodySink | undefined> {
    this.current = header.name;
    return applyEntry(this.ctx, header);
  }

  /**
   * Applies a file entry as a hardlink to `same`, a file of a frozen snapshot with this entry's
   * metadata and bytes (see earlier-files.ts). False when it cannot be: the name exists already
   * in this layer, or link(2) refuses (another filesystem, the link count's limit, a protected
   * file); the caller then writes the file with {@link begin}.
   */
  linkFile(header: TarHeader, same: string): boolean {
    this.current = header.name;
    const parts = entryComponents(header.name);
    checkNameLimits(this.ctx, header, parts);
    const base = parts[parts.length - 1];
    if (header.type !== 'file' || base === undefined || base.startsWith(whiteoutPrefix)) return false;
    const parent = parentDir(this.ctx, parts, header.name);
    const target = path.join(parent, base);
    if (!knownAbsent(this.ctx, parent, target)) return false;
    try {
      linkSync(same, target);
    } catch (err) {
      if (linkRefusals.has((err as NodeJS.ErrnoException).code ?? '')) return false;
      throw err;
    }
    this.ctx.created.add(target);
    return true;
  }

  /** Sets the directories' times (adding children changed them) and stops the device helper. */
  async finish(): Promise<void> {
    await this.ctx.devices.close();
    for (const { target, mtime } of this.ctx.dirTimes.reverse()) {
      try {
        lutimesSync(target, mtime, mtime);
      } catch (err) {
        // A later entry of the same layer may have removed the dir again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  /** After a failure: stops the device helper (the caller discards the tree). */
  async abandon(): Promise<void> {
    await this.ctx.devices.close().catch(() => undefined);
  }

  /** The error to throw for `err`, raised while applying the current entry. */
  explain(err: unknown): Error {
    const label = this.ctx.label;
    if (err instanceof EscapeError)
      return new StoreError(`${label}: refusing unsafe ${err.message}`, 'UNSAFE_ENTRY', { cause: err });
    if (err instanceof TarFormatError) return new StoreError(`${label}: ${err.message}`, 'BAD_TAR', { cause: err });
    if (err instanceof StoreError) return err;
    return new StoreError(`${label}: cannot apply entry ${shownName(this.current)}: ${reason(err)}`, 'APPLY_FAILED', {
      cause: err,
    });
  }
}

/**
 * Why link(2) may refuse to share a file that a plain write can still make (ENOENT, ENOTDIR: the
 * earlier snapshot has no such file after all, e.g. a later entry of its layer replaced it).
 */
const linkRefusals = new Set(['EXDEV', 'EMLINK', 'EPERM', 'EACCES', 'ENOENT', 'ENOTDIR']);

/** Why a system call failed, without the host path it names (which may be kilobytes long). */
function reason(err: unknown): string {
  const { code, syscall, message } = err as NodeJS.ErrnoException;
  if (code === undefined || syscall === undefined) return message;
  return `${code} (${syscall}): ${message
    .slice(message.indexOf(':') + 1)
    .split(',')[0]
    ?.trim()}`;
}

/**
 * Refuses an entry no system call could create: a component longer than NAME_MAX, or a path
 * that, inside the snapshot dir, reaches PATH_MAX. Checked before any of its parents is made.
 */
function checkNameLimits(ctx: ApplyContext, header: TarHeader, parts: string[]): void {
  const long = parts.find((part) => Buffer.byteLength(part) > NAME_MAX);
  if (long !== undefined)
    throw new StoreError(
      `${ctx.label}: entry ${shownName(header.name)} has a name of ${Buffer.byteLength(long)} bytes, past NAME_MAX ` +
        `(${NAME_MAX})`,
      'ENTRY_NAME_TOO_LONG',
    );
  if (pastPathMax(path.join(ctx.root, ...parts)))
    throw new StoreError(
      `${ctx.label}: entry ${shownName(header.name)} is too deep: unpacked, its path would reach PATH_MAX ` +
        `(${PATH_MAX} bytes)`,
      'ENTRY_TOO_DEEP',
    );
}

async function applyEntry(ctx: ApplyContext, header: TarHeader): Promise<FileBodySink | undefined> {
  const parts = entryComponents(header.name);
  checkNameLimits(ctx, header, parts);
  const base = parts[parts.length - 1];
  // The root entry ("./") carries no content; the snapshot root's metadata is ours to choose.
  if (base === undefined) return undefined;
  if (base.startsWith(whiteoutPrefix)) {
    await applyWhiteout(ctx, header.name, parts.slice(0, -1), base);
    return undefined;
  }
  if (isHostDevice(header)) return undefined;

  const parent = parentDir(ctx, parts, header.name);
  const target = path.join(parent, base);
  const existing = knownAbsent(ctx, parent, target) ? undefined : lstatOrUndefined(target);
  let file: FileBodySink | undefined;
  if (existing?.isDirectory() && header.type === 'directory') {
    setMetadata(target, header);
  } else {
    if (existing !== undefined) removed(ctx, target);
    if (header.type === 'hardlink') await makeHardlink(ctx, header, target);
    else if (header.type === 'file') file = openFileNoFollow(target, header);
    else await createNode(target, header, emptyBody(), ctx.devices);
  }
  ctx.created.add(target);
  if (header.type === 'directory') {
    ctx.dirTimes.push({ target, mtime: header.mtime });
    // A dir made just now holds nothing yet; one that was there may hold anything.
    if (existing === undefined) ctx.fresh.add(target);
  }
  return file;
}

async function* emptyBody(): AsyncGenerator<Buffer> {}

/**
 * The host dir an entry goes into (missing parents made), resolved safely once per dir: later
 * entries of the same dir reuse it until something is removed (which could turn a resolved
 * dir into a symlink's name).
 */
function parentDir(ctx: ApplyContext, parts: string[], name: string): string {
  const key = parts.slice(0, -1).join('/');
  let dir = ctx.parents.get(key);
  if (dir === undefined) {
    dir = resolveDir(ctx.root, parts.slice(0, -1), name, true);
    if (dir === undefined) throw new Error('unreachable: parents are created');
    ctx.parents.set(key, dir);
  }
  return dir;
}

/** Whether `target` in `parent` surely does not exist: a fresh dir holds only what we made. */
function knownAbsent(ctx: ApplyContext, parent: string, target: string): boolean {
  return ctx.fresh.has(parent) && !ctx.created.has(target);
}

/** Removes `target` (any type, any depth) and forgets what may have gone with it. */
function removed(ctx: ApplyContext, target: string): void {
  rmSync(target, { recursive: true, force: true });
  forgetResolved(ctx);
}

/**
 * After a removal, resolved parents may name what is gone (a symlink may take a dir's place
 * next), and a fresh dir may be re-made by a parent lookup: only the root stays known.
 */
function forgetResolved(ctx: ApplyContext): void {
  ctx.parents.clear();
  const rootFresh = ctx.fresh.has(ctx.root);
  ctx.fresh.clear();
  if (rootFresh) ctx.fresh.add(ctx.root);
}

/**
 * Block devices and char devices other than 0/0 (overlay's whiteout) are dropped, whatever the
 * layer's source: a device node in an image would give whoever runs in it (or reads the snapshot
 * dir) the host's disk or memory, since device numbers are host-wide. Docker images have an empty
 * /dev; runners mount their own. FIFOs are harmless and kept.
 */
function isHostDevice(header: TarHeader): boolean {
  if (header.type === 'block') return true;
  return header.type === 'char' && (header.devmajor !== 0 || header.devminor !== 0);
}

async function makeHardlink(ctx: ApplyContext, header: TarHeader, target: string): Promise<void> {
  const linkParts = entryComponents(header.linkname);
  const source = resolveParent(ctx.root, linkParts, header.name, false);
  const sourcePath = source === undefined ? undefined : path.join(source.parent, source.base);
  const stats = sourcePath === undefined ? undefined : lstatOrUndefined(sourcePath);
  if (sourcePath === undefined || stats === undefined) {
    throw new StoreError(`${ctx.label}: hardlink ${header.name} points at missing ${header.linkname}`, 'BAD_ENTRY');
  }
  if (stats.isDirectory()) throw new EscapeError(`entry ${JSON.stringify(header.name)} hardlinks a directory`);
  // link(2) does not follow a symlink source: linking a symlink links the symlink itself.
  linkSync(sourcePath, target);
}

async function applyWhiteout(ctx: ApplyContext, name: string, parentParts: string[], base: string): Promise<void> {
  const isOverlay = ctx.format === 'overlay';
  if (base === opaqueMarker) {
    const dir = resolveDir(ctx.root, parentParts, name, isOverlay);
    if (dir === undefined) return;
    // Rootless, overlay runs with userxattr and reads user.overlay.* (trusted.* is not ours there).
    if (isOverlay) xattr().setAttributeSync(dir, `${overlayXattrPrefix()}opaque`, 'y');
    else await emptyDir(ctx, dir);
    return;
  }
  // Other `.wh..wh.` names are aufs bookkeeping (hardlink dirs), never content.
  if (base.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) return;
  const hidden = base.slice(whiteoutPrefix.length);
  if (hidden === '' || hidden === '.' || hidden === '..') {
    throw new EscapeError(`entry ${JSON.stringify(name)} is a whiteout of ${JSON.stringify(hidden)}`);
  }
  const parent = resolveDir(ctx.root, parentParts, name, isOverlay);
  if (parent === undefined) return;
  const target = path.join(parent, hidden);
  // Usually the whiteout hides a lower layer's file, absent here: nothing to remove then.
  if (!knownAbsent(ctx, parent, target)) removed(ctx, target);
  if (isOverlay) {
    await ctx.devices.make(target, 'char', 0);
    ctx.created.add(target);
  }
}

async function emptyDir(ctx: ApplyContext, dir: string): Promise<void> {
  for (const child of await readdir(dir)) {
    const childPath = path.join(dir, child);
    if (!ctx.created.has(childPath)) await rm(childPath, { recursive: true, force: true });
  }
  forgetResolved(ctx);
}
