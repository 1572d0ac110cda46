import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../../core/errors.js';
import { FsContentStore } from '../../../store/content-store.js';
import type { Digest } from '../../../core/oci.js';
import { tempDir } from '../../helpers/layers.js';

function sha(data: string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

describe('FsContentStore', () => {
  it('creates a valid OCI layout and stores blobs by digest', async () => {
    const root = await tempDir();
    const store = await FsContentStore.open(root);
    expect(JSON.parse(await readFile(path.join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8')).manifests).toEqual([]);
    for (const privateDir of ['snapshots', 'tmp', 'ingest']) {
      expect((await stat(path.join(root, privateDir))).mode & 0o777).toBe(0o700);
    }

    const { digest, size } = await store.putBytes('hello');
    expect(digest).toBe(sha('hello'));
    expect(size).toBe(5);
    expect(await store.has(digest)).toBe(true);
    expect(await store.size(digest)).toBe(5);
    expect(await readFile(store.blobPath(digest), 'utf8')).toBe('hello');
    expect(await store.list()).toEqual([digest]);
    // Writing the same bytes again is a no-op that returns the same address.
    expect((await store.putBytes('hello')).digest).toBe(digest);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('refuses a stream that does not match the expected digest and keeps nothing', async () => {
    const root = await tempDir();
    const store = await FsContentStore.open(root);
    const wrong = sha('something else');
    await expect(store.putStream(Readable.from([Buffer.from('actual')]), wrong)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(await store.has(sha('actual'))).toBe(false);
    expect(await store.has(wrong)).toBe(false);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it('accepts a stream matching the expected digest', async () => {
    const store = await FsContentStore.open(await tempDir());
    const result = await store.putStream(Readable.from([Buffer.from('ab'), Buffer.from('c')]), sha('abc'));
    expect(result).toEqual({ digest: sha('abc'), size: 3 });
  });

  it('validates digests before they become paths', async () => {
    const store = await FsContentStore.open(await tempDir());
    expect(() => store.blobPath('sha256:../../etc/passwd' as Digest)).toThrow(StoreError);
    expect(() => store.blobPath('sha256:ABC' as Digest)).toThrow(StoreError);
    await expect(store.has('md5:abc' as Digest)).rejects.toBeInstanceOf(StoreError);
  });

  it('parses JSON blobs under a size limit and reports missing ones', async () => {
    const store = await FsContentStore.open(await tempDir());
    const { digest } = await store.putBytes(JSON.stringify({ a: [1, 2] }));
    expect(await store.getJson(digest)).toEqual({ a: [1, 2] });
    await expect(store.getJson(digest, 4)).rejects.toMatchObject({ code: 'BLOB_TOO_LARGE' });
    const notJson = await store.putBytes('{nope');
    await expect(store.getJson(notJson.digest)).rejects.toMatchObject({ code: 'BAD_JSON' });
    await expect(store.getJson(sha('missing'))).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  });

  it('deletes blobs and ignores stray files when listing', async () => {
    const root = await tempDir();
    const store = await FsContentStore.open(root);
    const { digest } = await store.putBytes('x');
    await writeFile(path.join(root, 'blobs', 'sha256', 'not-a-digest'), '');
    expect(await store.list()).toEqual([digest]);
    await store.delete(digest);
    expect(await store.has(digest)).toBe(false);
  });
});
