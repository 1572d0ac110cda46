import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediaType, RefNameAnnotation, type Descriptor } from '../../../core/oci.js';
import { IndexTagStore, normalizeName } from '../../../store/tag-store.js';
import { tempDir } from '../../helpers/layers.js';

function descriptor(n: number): Descriptor {
  return { mediaType: MediaType.ociManifest, digest: `sha256:${n.toString(16).padStart(64, '0')}`, size: n };
}

describe('normalizeName', () => {
  it('adds :latest only when there is no tag', () => {
    expect(normalizeName('app')).toBe('app:latest');
    expect(normalizeName('app:1')).toBe('app:1');
    expect(normalizeName('localhost:5000/x/y')).toBe('localhost:5000/x/y:latest');
    expect(normalizeName('localhost:5000/x/y:tag')).toBe('localhost:5000/x/y:tag');
    expect(() => normalizeName('bad name')).toThrow(/invalid image name/);
  });
});

describe('IndexTagStore', () => {
  it('keeps full names in the ref.name annotation of index.json', async () => {
    const root = await tempDir();
    const tags = await IndexTagStore.open(root);
    await tags.set('localhost:5000/x/y:tag', descriptor(1));
    await tags.set('app', descriptor(2));
    const index = JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: Descriptor) => m.annotations?.[RefNameAnnotation]).sort()).toEqual([
      'app:latest',
      'localhost:5000/x/y:tag',
    ]);
    expect((await tags.resolve('app:latest'))?.digest).toBe(descriptor(2).digest);
    expect((await tags.resolve('localhost:5000/x/y:tag'))?.size).toBe(1);
    expect(await tags.resolve('missing')).toBeUndefined();
  });

  it('moves a tag instead of duplicating it, and removes tags', async () => {
    const tags = await IndexTagStore.open(await tempDir());
    await tags.set('app:1', descriptor(1));
    await tags.set('app:1', descriptor(2));
    expect((await tags.list()).map((t) => [t.name, t.manifest.size])).toEqual([['app:1', 2]]);
    expect(await tags.remove('app:1')).toBe(true);
    expect(await tags.remove('app:1')).toBe(false);
    expect(await tags.list()).toEqual([]);
  });

  it('loses no update when many writers race (lock file + rename)', async () => {
    const root = await tempDir();
    const writers = await Promise.all([0, 1, 2, 3].map(() => IndexTagStore.open(root)));
    let readerSawTornIndex = false;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        try {
          JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8'));
        } catch {
          readerSawTornIndex = true;
        }
      }
    })();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (writers[i % 4] as IndexTagStore).set(`img${i}:v`, descriptor(i + 1))),
    );
    writing = false;
    await reader;
    expect(readerSawTornIndex).toBe(false);
    const names = (await writers[0]!.list()).map((t) => t.name).sort();
    expect(names).toEqual(Array.from({ length: 40 }, (_, i) => `img${i}:v`).sort());
  });

  it('breaks a stale lock left by a crashed process', async () => {
    const root = await tempDir();
    const tags = await IndexTagStore.open(root);
    const lock = path.join(root, 'index.json.lock');
    await writeFile(lock, '99999');
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    await tags.set('app:1', descriptor(1));
    expect((await tags.resolve('app:1'))?.size).toBe(1);
  });
});
