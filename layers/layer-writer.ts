/**
 * Layer writer: LayerEntry stream → deterministic uncompressed tar → content store, hashed on the
 * fly (so the digest returned is the layer's diff ID and its blob digest at once).
 *
 * Determinism: entries are written in the order given, uname/gname empty, PAX records sorted, the
 * PAX header always named `PaxHeader`, mtimes clamped to SOURCE_DATE_EPOCH when set.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StoreError } from '../core/errors.js';
import type { ContentStore, ExistingSnapshot, LayerEntry, LayerRef } from '../core/ports.js';
import { SamePassUnpack } from './same-pass.js';
import { filePieces } from '../sys/file-pieces.js';
import { blockSize, encodeHeader, endOfArchive, opaqueMarker, whiteoutPrefix, type TarHeader } from './tar-format.js';

/** Options for {@link writeLayer}. */
export interface WriteLayerOptions {
  /** Clamp every mtime to at most this (seconds), for reproducible layers. */
  sourceDateEpoch?: number;
  /**
   * An empty dir to unpack the layer into (overlay format) in the same pass: each entry is applied
   * from the header and the very bytes written to the tar, so the dir is what unpacking the layer
   * would give, without reading it back. Used for the snapshots of COPY, ADD and WORKDIR.
   */
  unpackInto?: string;
  /**
   * With `unpackInto`: a complete snapshot of an earlier build of the same step over the same
   * layers below. A file that is the same there (metadata and bytes) is hardlinked from it rather
   * than written again (see earlier-files.ts).
   */
  sameFilesFrom?: ExistingSnapshot;
}

export { opaqueMarker, whiteoutPrefix } from './tar-format.js';

/**
 * Writes `entries` as a layer into `store`; returns its diff ID (= blob digest) and size, and with
 * `unpackInto` the snapshot's file list (earlier-files.ts) for the next build of the step.
 */
export async function writeLayer(
  store: ContentStore,
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  options: WriteLayerOptions = {},
): Promise<LayerRef & { files?: string }> {
  if (options.unpackInto === undefined) {
    const { digest, size } = await store.putStream(Readable.from(layerTarChunks(entries, options)));
    return { diffId: digest, size };
  }
  const unpack = await SamePassUnpack.open(
    options.unpackInto,
    options.sameFilesFrom === undefined ? {} : { sameFilesFrom: options.sameFilesFrom },
  );
  try {
    const { digest, size } = await store.putStream(Readable.from(layerTarChunks(entries, options, unpack)));
    return { diffId: digest, size, files: unpack.fileList() };
  } catch (err) {
    await unpack.abandon();
    throw err;
  }
}

/**
 * Output chunk size. Headers, small bodies and padding are packed into chunks this big instead of
 * being yielded one by one: 20,000 small files used to mean 60,000 tiny writes and hash updates.
 */
const CHUNK_BYTES = 1024 * 1024;

/**
 * The bytes of the layer tar in chunks of about 1 MiB. Exported for exporters that stream elsewhere.
 * With `unpack`, each entry is also applied there, its body from the same bytes.
 */
export async function* layerTarChunks(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  options: WriteLayerOptions = {},
  unpack?: SamePassUnpack,
): AsyncGenerator<Buffer> {
  const out = new ChunkBuilder();
  for await (const listed of entries) {
    // A host file listed without a size is measured now; the body check below catches changes.
    const entry =
      listed.type === 'file' && listed.source !== undefined && listed.size === undefined
        ? { ...listed, size: (await stat(listed.source)).size }
        : listed;
    const header = toTarHeader(entry, options.sourceDateEpoch);
    await unpack?.entry(header);
    yield* out.append(encodeHeader(header));
    if (header.type === 'file' && header.size > 0) {
      if (entry.source === undefined) {
        const content = entry.content ?? Buffer.alloc(0);
        if (content.length !== header.size) throw sizeChanged(entry.path);
        await unpack?.piece(content);
        yield* out.append(content);
      } else if (header.size <= out.room()) {
        // Small body: read straight into the chunk, in one synchronous call (no stream set-up).
        const body = out.readFileInto(entry.source, header.size, entry.path);
        await unpack?.piece(body);
      } else {
        yield* out.flush();
        for await (const piece of largeBody(entry.source, header.size, entry.path)) {
          await unpack?.piece(piece);
          yield piece;
        }
      }
      yield* out.append(paddingBytes(header.size));
    }
    await unpack?.endEntry();
  }
  // The unpack is complete (directory times set) when the tar is.
  await unpack?.finish();
  yield* out.append(endOfArchive());
  yield* out.flush();
}

/** Collects bytes into fresh ~1 MiB buffers (fresh, because a yielded chunk may still be queued). */
class ChunkBuilder {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  room(): number {
    return CHUNK_BYTES - this.used;
  }

  *append(bytes: Buffer): Generator<Buffer> {
    if (bytes.length > this.room()) {
      yield* this.flush();
      if (bytes.length > CHUNK_BYTES) {
        yield bytes;
        return;
      }
    }
    bytes.copy(this.buffer, this.used);
    this.used += bytes.length;
  }

  /** Reads exactly `size` bytes of `file` into the chunk (caller checked there is room); returns them. */
  readFileInto(file: string, size: number, entryPath: string): Buffer {
    const fd = openSync(file, 'r');
    try {
      let read = 0;
      while (read < size) {
        const n = readSync(fd, this.buffer, this.used + read, size - read, read);
        if (n === 0) throw sizeChanged(entryPath);
        read += n;
      }
    } finally {
      closeSync(fd);
    }
    this.used += size;
    return this.buffer.subarray(this.used - size, this.used);
  }

  *flush(): Generator<Buffer> {
    if (this.used === 0) return;
    yield this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }
}

/** Body of a file bigger than a chunk, read in 1 MiB pieces (one ahead); refuses one that shrank. */
async function* largeBody(file: string, size: number, entryPath: string): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const piece of filePieces(file, CHUNK_BYTES, size)) {
    read += piece.length;
    yield piece;
  }
  if (read < size) throw sizeChanged(entryPath);
}

const zeroBlock = Buffer.alloc(blockSize);

/** The zeros that pad a body of `size` bytes to a whole block (shared, never written to). */
function paddingBytes(size: number): Buffer {
  const rest = size % blockSize;
  return rest === 0 ? zeroBlock.subarray(0, 0) : zeroBlock.subarray(0, blockSize - rest);
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
      if (entry.linkname === undefined)
        throw new StoreError(`layer entry ${name}: ${entry.type} without a target`, 'BAD_ENTRY');
      return {
        ...base,
        type: entry.type,
        linkname: entry.type === 'hardlink' ? checkedPath(entry.linkname) : entry.linkname,
      };
    case 'char':
    case 'block':
      return { ...base, type: entry.type, devmajor: entry.devmajor ?? 0, devminor: entry.devminor ?? 0 };
    case 'whiteout':
      return { ...base, name: siblingName(name, whiteoutPrefix + path.posix.basename(name)), xattrs: {} };
    case 'opaque':
      return { ...base, name: `${name}/${opaqueMarker}`, xattrs: {} };
  }
}

function sizeChanged(entryPath: string): StoreError {
  return new StoreError(`layer entry ${entryPath}: file size changed while it was being archived`, 'FILE_CHANGED');
}

function checkedPath(entryPath: string): string {
  const parts = entryPath.split('/');
  if (
    entryPath === '' ||
    entryPath.startsWith('/') ||
    parts.some((part) => part === '..' || part === '' || part === '.')
  ) {
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
