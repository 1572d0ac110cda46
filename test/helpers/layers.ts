/** Shared set-up for the image tests: temp dirs on the local disk and fresh stores. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { FsContentStore } from '../../store/content-store.js';
import type { ImageStore } from '../../store/images.js';
import { IndexTagStore } from '../../store/tag-store.js';
import { encodeHeader, endOfArchive, paddingFor, type TarHeader } from '../../layers/tar-format.js';

const made: string[] = [];

afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A temp dir removed after the current test. */
export async function tempDir(prefix = 'tzb-image-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A fresh store (content + tags) in a temp dir. */
export async function tempStore(): Promise<ImageStore & { root: string }> {
  const root = await tempDir('tzb-store-');
  return { root, content: await FsContentStore.open(root), tags: await IndexTagStore.open(root) };
}

/** A tar header with defaults, for hand-made (including hostile) archives. */
export function header(name: string, overrides: Partial<TarHeader> = {}): TarHeader {
  return {
    name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1_700_000_000,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: {},
    ...overrides,
  };
}

/** Builds raw tar bytes from headers and optional bodies (no validation, on purpose). */
export function rawTar(entries: { header: TarHeader; body?: string | Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { header: h, body } of entries) {
    const data = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    parts.push(encodeHeader({ ...h, size: data.length }), data, paddingFor(data.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

/** A stream of `data`. */
export function streamOf(data: Buffer): Readable {
  return Readable.from([data]);
}
