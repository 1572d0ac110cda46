/**
 * ADD's auto-extraction: a local source that is a tar (plain, gzip, bzip2, xz or zstd) is
 * unpacked into the destination instead of copied. Unpacking goes through the store's safe
 * layer apply, so a hostile archive cannot write outside its staging dir.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { decompress, detectCompression } from '../../layers/decompress.js';
import { BuildContext, type ContextSource } from '../context/index.js';
import type { SourceGroup } from './copy-entries.js';

/** Splits sources into plain ones and extracted archives (each a tree of its own), for `use`. */
export async function extractArchives<T>(
  sources: ContextSource[],
  tmpDir: string,
  use: (plain: ContextSource[], staged: SourceGroup[]) => Promise<T>,
): Promise<T> {
  const plain: ContextSource[] = [];
  const staged: SourceGroup[] = [];
  const dirs: string[] = [];
  try {
    for (const source of sources) {
      if (!source.stat.isFile() || !(await isTarArchive(source.abs))) {
        plain.push(source);
        continue;
      }
      const dir = await mkdtemp(join(tmpDir, 'add-'));
      dirs.push(dir);
      // The unpacker loads only when an ADD meets an archive (a cached build never does).
      const { applyLayer } = await import('../../layers/layer-apply.js');
      await applyLayer(createReadStream(source.abs), dir, { format: 'merged', label: source.rel }).catch(
        (error: Error) => {
          throw new UserError(`ADD ${source.rel}: cannot extract archive: ${error.message}`, 'ADD_ARCHIVE');
        },
      );
      const tree = await BuildContext.open(dir, { ignorePatterns: [], linkScope: 'rootfs' });
      staged.push({ tree, sources: await tree.resolveSources(['.']) });
    }
    return await use(plain, staged);
  } finally {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** A tar, possibly compressed: decided from the first bytes, as Docker does (not from the name). */
async function isTarArchive(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, 512, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (detectCompression(head) === 'none') return hasTarMagic(head);
  const stream = await decompress(createReadStream(path, { end: 1024 * 1024 }), { label: path }).catch(() => undefined);
  if (stream === undefined) return false;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= 512) break;
    }
  } catch {
    return false;
  } finally {
    stream.destroy();
  }
  return hasTarMagic(Buffer.concat(chunks));
}

/** POSIX/GNU tar headers carry `ustar` at offset 257. */
function hasTarMagic(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}
