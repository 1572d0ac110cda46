import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadArchive } from '../../../archive/archive.js';
import { saveImages } from '../../../archive/export.js';
import { commitImage, resolveImage } from '../../../store/images.js';
import { writeLayer } from '../../../layers/layer-writer.js';
import type { ImageConfig } from '../../../core/oci.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir, tempStore } from '../../helpers/layers.js';

function file(name: string, content: string): LayerEntry {
  return { path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from(content) };
}

function config(cmd: string): ImageConfig {
  return {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: [cmd] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

describe('saveImages', () => {
  it('writes an archive that loads back identically and that skopeo reads both ways', async () => {
    const store = await tempStore();
    const shared = await writeLayer(store.content, [file('base', 'base')]);
    const own = await writeLayer(store.content, [file('app', 'app')]);
    const app = await commitImage(store, ['app:1'], config('app'), [shared, own]);
    const web = await commitImage(store, ['localhost:5000/web:2'], config('web'), [shared]);
    const out = path.join(await tempDir(), 'images.tar');
    await saveImages(store, ['app:1', 'localhost:5000/web:2'], out);
    expect(await readdir(path.dirname(out))).toEqual(['images.tar']);

    const { stdout } = await execa('tar', ['-tf', out]);
    const blobEntries = stdout.split('\n').filter((name) => name.startsWith('blobs/'));
    expect(blobEntries).toHaveLength(new Set(blobEntries).size); // the shared layer once

    const fresh = await tempStore();
    expect(await loadArchive(fresh, out)).toEqual(['app:1', 'localhost:5000/web:2']);
    expect((await resolveImage(fresh, 'app:1')).configDigest).toBe(app.imageId);
    expect((await resolveImage(fresh, 'localhost:5000/web:2')).manifestDigest).toBe(web.manifest.digest);

    const asOci = JSON.parse(
      (await execa('skopeo', ['inspect', '--config', '--raw', `oci-archive:${out}:app:1`])).stdout,
    );
    expect(asOci.config.Cmd).toEqual(['app']);
    const asDocker = JSON.parse(
      (await execa('skopeo', ['inspect', '--config', '--raw', `docker-archive:${out}:localhost:5000/web:2`])).stdout,
    );
    expect(asDocker.config.Cmd).toEqual(['web']);
  });

  it('gives the same bytes for the same images', async () => {
    const store = await tempStore();
    const layer = await writeLayer(store.content, [file('x', 'x')]);
    await commitImage(store, ['x:1'], config('x'), [layer]);
    const dir = await tempDir();
    await saveImages(store, ['x:1'], path.join(dir, 'a.tar'));
    await saveImages(store, ['x:1'], path.join(dir, 'b.tar'));
    expect(await readFile(path.join(dir, 'a.tar'))).toEqual(await readFile(path.join(dir, 'b.tar')));
  });

  it('leaves no file behind when an image is missing', async () => {
    const store = await tempStore();
    const dir = await tempDir();
    await expect(saveImages(store, ['nope:1'], path.join(dir, 'out.tar'))).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
