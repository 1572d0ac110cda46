/**
 * Read access to the files of an image archive, whether it is a tar (`docker save`, OCI layout
 * tar; unpacked by name into a private temp dir, never by its own paths) or an OCI layout dir.
 * Archive paths are validated before use; symlinks and hardlinks inside a tar become aliases.
 */
import { createWriteStream, createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { StoreError } from '../core/errors.js';
import { parseJsonDocument } from '../core/oci-documents.js';
import { decompress } from '../layers/decompress.js';
import { entryComponents, EscapeError } from '../sys/safe-path.js';

/** Files of an archive by their archive path (`manifest.json`, `blobs/sha256/<hex>`, …). */
export interface ArchiveFiles {
  /** What to call the archive in error messages. */
  readonly label: string;
  has(archivePath: string): Promise<boolean>;
  /** The entry's size in bytes (a missing entry is an error). */
  sizeOf(archivePath: string): Promise<number>;
  open(archivePath: string): Readable;
  readJson<T>(archivePath: string, maxBytes?: number): Promise<T>;
  readBytes(archivePath: string, maxBytes?: number): Promise<Buffer>;
  close(): Promise<void>;
}

const jsonLimit = 4 * 1024 * 1024;

/** Unpacks the tar `file` (optionally compressed) into a temp dir under `tmpRoot`. */
export async function openArchiveTar(file: string, tmpRoot: string, maxBytes?: number): Promise<ArchiveFiles> {
  const dir = await mkdtemp(path.join(tmpRoot, 'archive-'));
  const stored = new Map<string, string>();
  const aliases = new Map<string, string>();
  let current = '';
  try {
    const extract = tarStream.extract();
    const input = await decompress(createReadStream(file), { maxBytes, label: file });
    input.on('error', (err) => extract.destroy(err));
    input.pipe(extract);
    for await (const entry of extract) {
      current = entry.header.name;
      const name = cleanPath(entry.header.name);
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        const hostPath = path.join(dir, String(stored.size));
        await pipeline(entry, createWriteStream(hostPath, { flags: 'wx' }));
        stored.set(name, hostPath);
      } else if (entry.header.type === 'symlink' || entry.header.type === 'link') {
        const link = entry.header.linkname ?? '';
        const relativeTo = entry.header.type === 'symlink' ? path.posix.dirname(name) : '';
        aliases.set(name, cleanPath(path.posix.join(relativeTo, link), link.startsWith('/') ? link : undefined));
        entry.resume();
      } else {
        entry.resume();
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if (err instanceof StoreError) throw err;
    const detail =
      err instanceof EscapeError
        ? `unsafe entry: ${err.message}`
        : `cannot read entry ${JSON.stringify(current)}: ${(err as Error).message}`;
    throw new StoreError(`${file}: ${detail}`, 'BAD_ARCHIVE', { cause: err });
  }
  const resolve = (archivePath: string): string | undefined => {
    let name = cleanPath(archivePath);
    for (let hops = 0; hops < 40 && !stored.has(name); hops++) {
      const next = aliases.get(name);
      if (next === undefined) return undefined;
      name = next;
    }
    return stored.get(name);
  };
  return filesFrom(file, resolve, () => rm(dir, { recursive: true, force: true }));
}

/** An OCI layout directory as archive files (paths confined to the dir). */
export function openLayoutDir(dir: string): ArchiveFiles {
  return filesFrom(
    dir,
    (archivePath) => path.join(dir, ...entryComponents(archivePath)),
    async () => undefined,
  );
}

function filesFrom(
  label: string,
  resolve: (archivePath: string) => string | undefined,
  close: () => Promise<void>,
): ArchiveFiles {
  const locate = (archivePath: string): string => {
    const hostPath = resolve(archivePath);
    if (hostPath === undefined) throw new StoreError(`${label}: missing entry ${archivePath}`, 'BAD_ARCHIVE');
    return hostPath;
  };
  const sizeOf = async (archivePath: string): Promise<number> => {
    const size = await stat(locate(archivePath)).then(
      (s) => s.size,
      () => -1,
    );
    if (size < 0) throw new StoreError(`${label}: missing entry ${archivePath}`, 'BAD_ARCHIVE');
    return size;
  };
  const readBytes = async (archivePath: string, maxBytes = jsonLimit): Promise<Buffer> => {
    const hostPath = locate(archivePath);
    const size = await sizeOf(archivePath);
    if (size > maxBytes)
      throw new StoreError(`${label}: entry ${archivePath} is too large (${size} bytes)`, 'BAD_ARCHIVE');
    return readFile(hostPath);
  };
  return {
    label,
    async has(archivePath) {
      const hostPath = resolve(archivePath);
      return (
        hostPath !== undefined &&
        (await stat(hostPath).then(
          (s) => s.isFile(),
          () => false,
        ))
      );
    },
    sizeOf,
    open: (archivePath) => createReadStream(locate(archivePath)),
    readBytes,
    async readJson<T>(archivePath: string, maxBytes?: number): Promise<T> {
      const bytes = await readBytes(archivePath, maxBytes);
      try {
        return parseJsonDocument(bytes, `${label}: entry ${archivePath}`) as T;
      } catch (err) {
        throw new StoreError((err as Error).message.replace(/: not valid JSON$/, ' is not valid JSON'), 'BAD_ARCHIVE', {
          cause: err,
        });
      }
    },
    close,
  };
}

/** Validates and normalises an archive path (no absolute paths, no `..`). */
function cleanPath(name: string, original?: string): string {
  if (original !== undefined) throw new EscapeError(`link to absolute path ${JSON.stringify(original)}`);
  return entryComponents(path.posix.normalize(name) === '.' ? '' : name).join('/');
}
