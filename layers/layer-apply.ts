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
import { createNode, setMetadata } from './apply-node.js';
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
}

interface ApplyContext {
  root: string;
  format: 'overlay' | 'merged';
  label: string;
  /** Host paths this layer created, which an opaque marker in 'merged' format must keep. */
  created: Set<string>;
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
  const label = options.label ?? 'layer';
  const ctx: ApplyContext = {
    root: await realpath(targetDir),
    format: options.format,
    label,
    created: new Set(),
    dirTimes: [],
    devices: new DeviceMaker(),
  };
  let current = '';
  try {
    const plain = await decompress(tar, { maxBytes: options.maxBytes, label });
    for await (const { header, body } of readTar(plain)) {
      current = header.name;
      await applyEntry(ctx, header, body);
    }
  } catch (err) {
    if (err instanceof EscapeError)
      throw new StoreError(`${label}: refusing unsafe ${err.message}`, 'UNSAFE_ENTRY', { cause: err });
    if (err instanceof TarFormatError) throw new StoreError(`${label}: ${err.message}`, 'BAD_TAR', { cause: err });
    if (err instanceof StoreError) throw err;
    throw new StoreError(`${label}: cannot apply entry ${shownName(current)}: ${reason(err)}`, 'APPLY_FAILED', {
      cause: err,
    });
  } finally {
    await ctx.devices.close();
  }
  for (const { target, mtime } of ctx.dirTimes.reverse()) {
    try {
      lutimesSync(target, mtime, mtime);
    } catch (err) {
      // A later entry of the same layer may have removed the dir again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

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

async function applyEntry(ctx: ApplyContext, header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
  const parts = entryComponents(header.name);
  checkNameLimits(ctx, header, parts);
  const base = parts[parts.length - 1];
  // The root entry ("./") carries no content; the snapshot root's metadata is ours to choose.
  if (base === undefined) return;
  if (base.startsWith(whiteoutPrefix)) return applyWhiteout(ctx, header.name, parts.slice(0, -1), base);
  if (isHostDevice(header)) return;

  const resolved = resolveParent(ctx.root, parts, header.name, true);
  if (resolved === undefined) throw new Error('unreachable: parents are created');
  const target = path.join(resolved.parent, resolved.base);
  const existing = lstatOrUndefined(target);
  if (existing?.isDirectory() && header.type === 'directory') {
    setMetadata(target, header);
  } else {
    if (existing !== undefined) rmSync(target, { recursive: true, force: true });
    if (header.type === 'hardlink') await makeHardlink(ctx, header, target);
    else await createNode(target, header, body, ctx.devices);
  }
  ctx.created.add(target);
  if (header.type === 'directory') ctx.dirTimes.push({ target, mtime: header.mtime });
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
  rmSync(target, { recursive: true, force: true });
  if (isOverlay) await ctx.devices.make(target, 'char', 0);
}

async function emptyDir(ctx: ApplyContext, dir: string): Promise<void> {
  for (const child of await readdir(dir)) {
    const childPath = path.join(dir, child);
    if (!ctx.created.has(childPath)) await rm(childPath, { recursive: true, force: true });
  }
}
