/**
 * The fast paths of the image layer (docs/benchmarks.md): chunked layer writing must give the
 * same bytes as writing entry by entry, rewriting an identical blob or tag must be skipped (and a
 * damaged blob still healed), and one helper process must make a whole layer's device nodes.
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DeviceMaker } from '../../../sys/device-nodes.js';
import { applyLayer } from '../../../layers/layer-apply.js';
import { layerTarChunks, writeLayer } from '../../../layers/layer-writer.js';
import { MediaType, type Descriptor } from '../../../core/oci.js';
import { encodeHeader, endOfArchive, paddingFor, type TarHeader } from '../../../layers/tar-format.js';
import type { LayerEntry } from '../../../core/ports.js';
import { header, rawTar, streamOf, tempDir, tempStore } from '../../helpers/layers.js';

const mtime = 1_700_000_000;

/** The layer tar written the plain way, one entry after another: the reference bytes. */
async function referenceTar(entries: LayerEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.source !== undefined ? await readFile(entry.source) : (entry.content ?? Buffer.alloc(0));
    const tarHeader: TarHeader = {
      name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
      type: entry.type === 'directory' ? 'directory' : 'file',
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.type === 'file' ? body.length : 0,
      mtime: entry.mtime,
      linkname: '',
      devmajor: 0,
      devminor: 0,
      xattrs: entry.xattrs ?? {},
    };
    parts.push(encodeHeader(tarHeader));
    if (tarHeader.size > 0) parts.push(body, paddingFor(body.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

/** Host files of many sizes: bodies that fill, cross and exceed the writer's 1 MiB chunks. */
async function hostFiles(dir: string): Promise<LayerEntry[]> {
  const sizes = [
    0,
    1,
    511,
    512,
    513,
    100_000,
    700_000,
    1024 * 1024 - 512,
    1024 * 1024,
    1024 * 1024 + 1,
    3 * 1024 * 1024 + 77,
    5,
    300_000,
  ];
  const entries: LayerEntry[] = [{ path: 'data', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime }];
  for (const [i, size] of sizes.entries()) {
    const file = path.join(dir, `f${i}`);
    await writeFile(file, randomBytes(size));
    entries.push({
      path: `data/f${String(i).padStart(2, '0')}`,
      type: 'file',
      mode: 0o644,
      uid: 1,
      gid: 2,
      mtime,
      size,
      source: file,
    });
  }
  entries.push({
    path: 'data/inline',
    type: 'file',
    mode: 0o600,
    uid: 0,
    gid: 0,
    mtime,
    content: randomBytes(2 * 1024 * 1024),
  });
  entries.push({
    path: 'data/xattr',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime,
    content: Buffer.from('x'),
    xattrs: { 'user.k': Buffer.from('v') },
  });
  return entries;
}

describe('chunked layer writing', () => {
  it('writes exactly the bytes of the entry-by-entry tar, in chunks of at most 1 MiB', async () => {
    const dir = await tempDir();
    const entries = await hostFiles(dir);
    const expected = await referenceTar(entries);
    const chunks: Buffer[] = [];
    for await (const chunk of layerTarChunks(entries)) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    // Small bodies are packed together: far fewer chunks than entries × 3 (header, body, padding).
    expect(chunks.length).toBeLessThan(16);
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(3 * 1024 * 1024 + 77);

    const store = await tempStore();
    const layer = await writeLayer(store.content, entries);
    expect(layer.diffId).toBe(`sha256:${createHash('sha256').update(expected).digest('hex')}`);
    expect(layer.size).toBe(expected.length);
    expect((await readFile(store.content.blobPath(layer.diffId))).equals(expected)).toBe(true);
  });

  it('the written layer unpacks to the same files (GNU tar agrees on the listing)', async () => {
    const dir = await tempDir();
    const entries = await hostFiles(dir);
    const store = await tempStore();
    const layer = await writeLayer(store.content, entries);
    const { stdout } = await execa('tar', ['-tf', store.content.blobPath(layer.diffId)]);
    expect(stdout.split('\n')).toEqual(
      entries.map((entry) => (entry.type === 'directory' ? `${entry.path}/` : entry.path)),
    );
    const out = await tempDir();
    await applyLayer(createReadStream(store.content.blobPath(layer.diffId)), out, { format: 'merged' });
    for (const entry of entries.filter((e) => e.source !== undefined)) {
      expect((await readFile(path.join(out, entry.path))).equals(await readFile(entry.source as string))).toBe(true);
    }
  });

  it('refuses a big host file that shrank after it was listed, and keeps no blob', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'big');
    await writeFile(file, randomBytes(3 * 1024 * 1024));
    const store = await tempStore();
    const before = await store.content.list();
    const entries: LayerEntry[] = [
      { path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size: 4 * 1024 * 1024, source: file },
    ];
    await expect(writeLayer(store.content, entries)).rejects.toThrow(/big: file size changed/);
    await truncate(file, 10);
    const small: LayerEntry[] = [
      { path: 'small', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size: 100, source: file },
    ];
    await expect(writeLayer(store.content, small)).rejects.toThrow(/small: file size changed/);
    expect(await store.content.list()).toEqual(before);
  });
});

describe('skipping identical rewrites', () => {
  it('putBytes leaves an identical blob alone but heals a damaged one', async () => {
    const store = await tempStore();
    const first = await store.content.putBytes('{"config":1}');
    const blob = store.content.blobPath(first.digest);
    const inode = (await stat(blob)).ino;
    expect(await store.content.putBytes('{"config":1}')).toEqual(first);
    expect((await stat(blob)).ino).toBe(inode);
    await writeFile(blob, '{"config":2}');
    expect(await store.content.putBytes('{"config":1}')).toEqual(first);
    expect(await readFile(blob, 'utf8')).toBe('{"config":1}');
    expect((await stat(blob)).ino).not.toBe(inode);
  });

  it('re-tagging the same manifest does not rewrite index.json; a new one does', async () => {
    const store = await tempStore();
    const one = await store.content.putBytes('{"m":1}');
    const two = await store.content.putBytes('{"m":2}');
    const descriptor = (blob: { digest: string; size: number }): Descriptor => ({
      mediaType: MediaType.ociManifest,
      digest: blob.digest as Descriptor['digest'],
      size: blob.size,
    });
    const index = path.join(store.root, 'index.json');
    await store.tags.set('app:1', descriptor(one));
    const written = (await stat(index)).ino;
    await store.tags.set('app:1', descriptor(one));
    expect((await stat(index)).ino).toBe(written);
    await store.tags.set('app:1', descriptor(two));
    expect((await stat(index)).ino).not.toBe(written);
    expect((await store.tags.resolve('app:1'))?.digest).toBe(two.digest);
  });
});

describe('device nodes through one helper', () => {
  it('applies a layer of many whiteouts and FIFOs with the right types and modes', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `gone-${i}`);
    const tar = rawTar([
      { header: header('dir/', { type: 'directory', mode: 0o755 }) },
      ...names.map((name) => ({ header: header(`dir/.wh.${name}`) })),
      { header: header('dir/pipe', { type: 'fifo', mode: 0o640 }) },
    ]);
    const out = await tempDir();
    await applyLayer(streamOf(tar), out, { format: 'overlay' });
    for (const name of names) {
      const info = await lstat(path.join(out, 'dir', name));
      expect(info.isCharacterDevice() && info.rdev === 0).toBe(true);
    }
    const pipe = await lstat(path.join(out, 'dir', 'pipe'));
    expect(pipe.isFIFO()).toBe(true);
    expect(pipe.mode & 0o7777).toBe(0o640);
  });

  it('reports a failed node by path and keeps serving the next ones', async () => {
    const out = await tempDir();
    await mkdir(path.join(out, 'taken'));
    const devices = new DeviceMaker();
    try {
      await expect(devices.make(path.join(out, 'taken'), 'char', 0)).rejects.toThrow(/mknod .*taken: File exists/);
      await devices.make(path.join(out, 'ok'), 'fifo', 0o600);
      await devices.make(path.join(out, 'na\nme'), 'char', 0);
    } finally {
      await devices.close();
    }
    expect((await lstat(path.join(out, 'ok'))).isFIFO()).toBe(true);
    expect((await lstat(path.join(out, 'na\nme'))).isCharacterDevice()).toBe(true);
  });
});
