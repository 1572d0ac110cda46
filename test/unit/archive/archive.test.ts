import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../../core/errors.js';
import { loadArchive, openOciLayoutDir } from '../../../archive/archive.js';
import { sha256Digest } from '../../../core/digest.js';
import { resolveImage } from '../../../store/images.js';
import { layerTarChunks } from '../../../layers/layer-writer.js';
import { FsSnapshotter } from '../../../store/snapshotter.js';
import type { LayerEntry } from '../../../core/ports.js';
import { header, rawTar, tempDir, tempStore } from '../../helpers/layers.js';

async function layerBytes(entries: LayerEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of layerTarChunks(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function file(name: string, content: string): LayerEntry {
  return { path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, content: Buffer.from(content) };
}

/** A `docker save`-style archive: gzipped first layer, plain second, a symlinked duplicate. */
async function dockerArchive(options: { corruptDiffId?: boolean } = {}) {
  const dir = await tempDir();
  const layer1 = await layerBytes([file('etc/os-release', 'ID=test')]);
  const layer2 = await layerBytes([file('app/hello.txt', 'hello')]);
  const diffIds = [sha256Digest(layer1), sha256Digest(layer2), sha256Digest(layer1)];
  if (options.corruptDiffId) diffIds[1] = sha256Digest('not this');
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [],
  });
  const configName = `${sha256Digest(config).slice(7)}.json`;
  await writeFile(path.join(dir, configName), config);
  await mkdir(path.join(dir, 'l1'));
  await mkdir(path.join(dir, 'l2'));
  await mkdir(path.join(dir, 'l3'));
  await writeFile(path.join(dir, 'l1', 'layer.tar'), gzipSync(layer1));
  await writeFile(path.join(dir, 'l2', 'layer.tar'), layer2);
  await symlink('../l1/layer.tar', path.join(dir, 'l3', 'layer.tar'));
  const manifest = [
    {
      Config: configName,
      RepoTags: ['app:1', 'localhost:5000/x/y:tag'],
      Layers: ['l1/layer.tar', 'l2/layer.tar', 'l3/layer.tar'],
    },
  ];
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  const archive = path.join(await tempDir(), 'image.tar');
  await execa('tar', ['-C', dir, '-cf', archive, '.']);
  return { archive, config, diffIds };
}

describe('loadArchive (docker-archive)', () => {
  it('imports layers uncompressed, verified, tagged with the archive names', async () => {
    const store = await tempStore();
    const { archive, config, diffIds } = await dockerArchive();
    expect(await loadArchive(store, archive)).toEqual(['app:1', 'localhost:5000/x/y:tag']);
    const image = await resolveImage(store, 'localhost:5000/x/y:tag');
    expect(image.configDigest).toBe(sha256Digest(config)); // same image ID as the source
    expect(image.layers.map((layer) => layer.diffId)).toEqual(diffIds);
    expect((await resolveImage(store, 'app:1')).manifestDigest).toBe(image.manifestDigest);
    const dirs = await new FsSnapshotter(store.content).prepare(image.layers);
    expect(await readFile(path.join(dirs[1] as string, 'app', 'hello.txt'), 'utf8')).toBe('hello');
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('accepts a gzipped archive too', async () => {
    const store = await tempStore();
    const { archive } = await dockerArchive();
    const gz = `${archive}.gz`;
    await writeFile(gz, gzipSync(await readFile(archive)));
    expect(await loadArchive(store, gz)).toEqual(['app:1', 'localhost:5000/x/y:tag']);
  });

  it('refuses a layer that does not match its diff ID, naming file and layer', async () => {
    const store = await tempStore();
    const { archive } = await dockerArchive({ corruptDiffId: true });
    await expect(loadArchive(store, archive)).rejects.toThrow(`${archive}: layer l2/layer.tar does not match`);
    expect(await store.tags.list()).toEqual([]);
  });

  it('refuses hostile and malformed archives with a StoreError naming the entry', async () => {
    const store = await tempStore();
    const dir = await tempDir();
    const cases: Record<string, Buffer> = {
      'climbs.tar': rawTar([{ header: header('../../evil'), body: 'x' }]),
      'abs-link.tar': rawTar([{ header: header('manifest.json', { type: 'symlink', linkname: '/etc/passwd' }) }]),
      'missing.tar': rawTar([
        { header: header('manifest.json'), body: JSON.stringify([{ Config: 'c.json', Layers: [] }]) },
      ]),
      'notjson.tar': rawTar([{ header: header('manifest.json'), body: '{{' }]),
      'empty.tar': rawTar([{ header: header('readme'), body: 'hi' }]),
    };
    const messages: Record<string, RegExp> = {
      'climbs.tar': /climbs\.tar: unsafe entry: entry "\.\.\/\.\.\/evil"/,
      'abs-link.tar': /abs-link\.tar: unsafe entry: link to absolute path/,
      'missing.tar': /missing\.tar: missing entry c\.json/,
      'notjson.tar': /notjson\.tar: entry manifest\.json is not valid JSON/,
      'empty.tar': /empty\.tar: neither a docker-archive/,
    };
    for (const [name, data] of Object.entries(cases)) {
      const file = path.join(dir, name);
      await writeFile(file, data);
      const attempt = loadArchive(store, file);
      await expect(attempt).rejects.toBeInstanceOf(StoreError);
      await expect(loadArchive(store, file)).rejects.toThrow(messages[name] as RegExp);
    }
    expect((await readdir(dir)).sort()).toEqual(Object.keys(cases).sort());
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });
});

describe('OCI layouts made by other tools', () => {
  it('imports a gzip-layered layout written by skopeo, as a dir and as a tar', async () => {
    const { archive, config, diffIds } = await dockerArchive();
    const layout = path.join(await tempDir(), 'layout');
    await execa('skopeo', [
      'copy',
      '--dest-compress-format',
      'gzip',
      '--dest-compress',
      `docker-archive:${archive}`,
      `oci:${layout}:app:1`,
    ]);

    const store = await tempStore();
    const image = await openOciLayoutDir(store, layout, 'app:1');
    // skopeo rewrites the Docker config as an OCI config, so compare with its manifest.
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(
      await readFile(path.join(layout, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(image.configDigest).toBe(manifest.config.digest);
    expect(image.config.config.Cmd).toEqual(JSON.parse(config).config.Cmd);
    expect(image.layers.map((layer) => layer.diffId)).toEqual(diffIds);
    await expect(openOciLayoutDir(store, layout, 'other')).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });

    const tarred = path.join(await tempDir(), 'oci.tar');
    await execa('tar', ['-C', layout, '-cf', tarred, '.']);
    const fresh = await tempStore();
    expect(await loadArchive(fresh, tarred)).toEqual(['app:1']);
    expect((await resolveImage(fresh, 'app:1')).layers).toEqual(image.layers);
  });

  it('imports a layout built with umoci (bare tag → untagged, returned by ID)', async () => {
    const work = await tempDir();
    const layout = path.join(work, 'layout');
    const content = path.join(work, 'content');
    await mkdir(content);
    await writeFile(path.join(content, 'greeting'), 'hi from umoci');
    await execa('umoci', ['init', '--layout', layout]);
    await execa('umoci', ['new', '--image', `${layout}:latest`]);
    await execa('umoci', ['insert', '--image', `${layout}:latest`, path.join(content, 'greeting'), '/greeting']);

    const store = await tempStore();
    const image = await openOciLayoutDir(store, layout, 'latest');
    expect(image.layers).toHaveLength(1);
    const [dir] = await new FsSnapshotter(store.content).prepare(image.layers);
    expect(await readFile(path.join(dir as string, 'greeting'), 'utf8')).toBe('hi from umoci');

    const tarred = path.join(work, 'umoci.tar');
    await execa('tar', ['-C', layout, '-cf', tarred, '.']);
    expect(await loadArchive(await tempStore(), tarred)).toEqual([image.configDigest]);
  });
});
