/**
 * Layer writer: LayerEntry stream → deterministic uncompressed tar → content store, hashed on the
 * fly (so the digest returned is the layer's diff ID and its blob digest at once).
 *
 * Determinism: entries are written in the order given, uname/gname empty, PAX records sorted, the
 * PAX header always named `PaxHeader`, mtimes clamped to SOURCE_DATE_EPOCH when set.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StoreError } from '../errors.js';
import type { ContentStore, LayerEntry, LayerRef } from '../ports.js';
import { encodeHeader, endOfArchive, paddingFor, type TarHeader } from './tar-format.js';

/** Options for {@link writeLayer}. */
export interface WriteLayerOptions {
  /** Clamp every mtime to at most this (seconds), for reproducible layers. */
  sourceDateEpoch?: number;
}

/** Name of the marker that makes a directory opaque in a layer tar. */
export const opaqueMarker = '.wh..wh..opq';
/** Prefix of a whiteout file in a layer tar. */
export const whiteoutPrefix = '.wh.';

/** Writes `entries` as a layer into `store`; returns its diff ID (= blob digest) and size. */
export async function writeLayer(
  store: ContentStore,
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  options: WriteLayerOptions = {},
): Promise<LayerRef> {
  const { digest, size } = await store.putStream(Readable.from(layerTarChunks(entries, options)));
  return { diffId: digest, size };
}

/** The bytes of the layer tar, chunk by chunk. Exported for exporters that stream elsewhere. */
export async function* layerTarChunks(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  options: WriteLayerOptions = {},
): AsyncGenerator<Buffer> {
  for await (const listed of entries) {
    // A host file listed without a size is measured now; the body check below catches changes.
    const entry = listed.type === 'file' && listed.source !== undefined && listed.size === undefined
      ? { ...listed, size: (await stat(listed.source)).size }
      : listed;
    const header = toTarHeader(entry, options.sourceDateEpoch);
    yield encodeHeader(header);
    if (header.type === 'file' && header.size > 0) {
      yield* entryBody(entry, header.size);
      yield paddingFor(header.size);
    }
  }
  yield endOfArchive();
}

function toTarHeader(entry: LayerEntry, sourceDateEpoch: number | undefined): TarHeader {
  const name = checkedPath(entry.path);
  const mtime = Math.floor(sourceDateEpoch !== undefined ? Math.min(entry.mtime, sourceDateEpoch) : entry.mtime);
  const base: TarHeader = {
    name,
    type: 'file',
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size: 0,
    mtime,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: sortedXattrs(entry.xattrs),
  };
  switch (entry.type) {
    case 'file':
      return { ...base, size: entry.size ?? entry.content?.length ?? 0 };
    case 'directory':
    case 'fifo':
      return { ...base, type: entry.type };
    case 'symlink':
    case 'hardlink':
      if (entry.linkname === undefined) throw new StoreError(`layer entry ${name}: ${entry.type} without a target`, 'BAD_ENTRY');
      return { ...base, type: entry.type, linkname: entry.type === 'hardlink' ? checkedPath(entry.linkname) : entry.linkname };
    case 'char':
    case 'block':
      return { ...base, type: entry.type, devmajor: entry.devmajor ?? 0, devminor: entry.devminor ?? 0 };
    case 'whiteout':
      return { ...base, name: siblingName(name, whiteoutPrefix + path.posix.basename(name)), xattrs: {} };
    case 'opaque':
      return { ...base, name: `${name}/${opaqueMarker}`, xattrs: {} };
  }
}

/** Body bytes of a file entry, refusing a source whose size changed since it was listed. */
async function* entryBody(entry: LayerEntry, size: number): AsyncGenerator<Buffer> {
  if (entry.source === undefined) {
    const content = entry.content ?? Buffer.alloc(0);
    if (content.length !== size) throw sizeChanged(entry.path);
    yield content;
    return;
  }
  let written = 0;
  for await (const chunk of createReadStream(entry.source, { end: size === 0 ? 0 : size - 1 }) as AsyncIterable<Buffer>) {
    written += chunk.length;
    yield chunk;
  }
  if (written !== size) throw sizeChanged(entry.path);
}

function sizeChanged(entryPath: string): StoreError {
  return new StoreError(`layer entry ${entryPath}: file size changed while it was being archived`, 'FILE_CHANGED');
}

function checkedPath(entryPath: string): string {
  const parts = entryPath.split('/');
  if (entryPath === '' || entryPath.startsWith('/') || parts.some((part) => part === '..' || part === '' || part === '.')) {
    throw new StoreError(`layer entry has an invalid path: ${JSON.stringify(entryPath)}`, 'BAD_ENTRY');
  }
  return entryPath;
}

function siblingName(entryPath: string, base: string): string {
  const dir = path.posix.dirname(entryPath);
  return dir === '.' ? base : `${dir}/${base}`;
}

function sortedXattrs(xattrs: Record<string, Buffer> | undefined): Record<string, Buffer> {
  const sorted: Record<string, Buffer> = {};
  for (const key of Object.keys(xattrs ?? {}).sort()) sorted[key] = (xattrs as Record<string, Buffer>)[key] as Buffer;
  return sorted;
}
