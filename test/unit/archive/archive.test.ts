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
import { checkStore } from '../../../store/fsck.js';
import { MediaType, type Descriptor } from '../../../core/oci.js';
import {
  describe as describeBlob,
  imageParts,
  indexFor,
  json,
  validLayout,
  writeLayoutDir,
  writeLayoutTar,
  type LayoutParts,
} from '../../helpers/oci-layout.js';

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

describe('untrusted OCI documents in layouts (dir and tar)', () => {
  /** Loads `parts` as a layout dir and as a tar into a fresh store: both refused, the store left empty. */
  async function refusedLayout(parts: LayoutParts): Promise<string> {
    const store = await tempStore();
    const work = await tempDir();
    const fromDir = await openOciLayoutDir(store, await writeLayoutDir(path.join(work, 'layout'), parts)).catch(
      (error: unknown) => error,
    );
    expect(fromDir).toBeInstanceOf(StoreError);
    const fromTar = await loadArchive(store, await writeLayoutTar(path.join(work, 'layout.tar'), parts)).catch(
      (error: unknown) => error,
    );
    expect(fromTar).toBeInstanceOf(StoreError);
    const [dirMessage, tarMessage] = [fromDir, fromTar].map((error) => (error as Error).message);
    // The same refusal either way, each naming its own source.
    expect(tarMessage!.replace(path.join(work, 'layout.tar'), 'SOURCE')).toBe(
      dirMessage!.replace(path.join(work, 'layout'), 'SOURCE'),
    );
    expect(await store.content.list()).toEqual([]);
    expect(await store.tags.list()).toEqual([]);
    expect(await checkStore(store)).toEqual([]);
    for (const dir of ['ingest', 'tmp']) expect(await readdir(path.join(store.root, dir))).toEqual([]);
    return dirMessage!.replace(`${path.join(work, 'layout')}: `, '');
  }

  it('loads the unbent image (the baseline the cases below bend)', async () => {
    const store = await tempStore();
    const dir = await writeLayoutDir(path.join(await tempDir(), 'layout'), validLayout());
    expect((await openOciLayoutDir(store, dir)).layers).toHaveLength(1);
  });

  it('refuses a manifest that also lists manifests (CVE-2021-41190)', async () => {
    const parts = validLayout((manifest) => {
      manifest.manifests = [describeBlob(Buffer.from('elsewhere'), MediaType.ociManifest)];
    });
    expect(await refusedLayout(parts)).toMatch(
      /^manifest sha256:\w+: holds both "manifests" and "layers"\/"config", so it reads as an index and as a manifest/,
    );
  });

  it('refuses a document whose mediaType disagrees with the index entry naming it', async () => {
    const { layer, configBytes, manifest } = imageParts();
    const manifestBytes = json(manifest);
    const parts = {
      index: indexFor(manifestBytes, { mediaType: MediaType.ociIndex }),
      blobs: [layer, configBytes, manifestBytes],
    };
    expect(await refusedLayout(parts)).toBe(
      `manifest ${sha256Digest(manifestBytes)}: its mediaType ${MediaType.ociManifest} disagrees with ` +
        `${MediaType.ociIndex}, the type it was referred to as`,
    );
  });

  it('refuses descriptors whose size is not the size of the bytes', async () => {
    const { layer, configBytes, manifest } = imageParts();
    const manifestBytes = json(manifest);
    const bigger = {
      index: indexFor(manifestBytes, { size: manifestBytes.length + 10 }),
      blobs: [layer, configBytes, manifestBytes],
    };
    expect(await refusedLayout(bigger)).toBe(
      `manifest ${sha256Digest(manifestBytes)}: ${manifestBytes.length} bytes where the descriptor declares ` +
        `${manifestBytes.length + 10}`,
    );
    const smallConfig = validLayout((m) => {
      m.config = { ...(m.config as Descriptor), size: 3 };
    });
    expect(await refusedLayout(smallConfig)).toMatch(/^config sha256:\w+: \d+ bytes where the descriptor declares 3$/);
    const lyingLayer = validLayout((m) => {
      m.layers = [{ ...((m.layers as Descriptor[])[0] as Descriptor), size: 1 }];
    });
    expect(await refusedLayout(lyingLayer)).toMatch(
      /^layer blobs\/sha256\/\w+: \d+ bytes where the descriptor declares 1$/,
    );
  });

  it('follows at most 8 indexes to a manifest, index.json counted', async () => {
    const { layer, configBytes, manifest } = imageParts();
    const manifestBytes = json(manifest);
    const nested = (count: number): LayoutParts => {
      const blobs = [layer, configBytes, manifestBytes];
      let child = describeBlob(manifestBytes, MediaType.ociManifest);
      for (let i = 0; i < count; i++) {
        const indexBytes = json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [child] });
        blobs.push(indexBytes);
        child = describeBlob(indexBytes, MediaType.ociIndex);
      }
      return { index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [child] }, blobs };
    };
    const store = await tempStore();
    const seven = await writeLayoutDir(path.join(await tempDir(), 'seven'), nested(7));
    expect((await openOciLayoutDir(store, seven)).layers).toHaveLength(1);
    expect(await refusedLayout(nested(8))).toMatch(/^more than 8 indexes lead to manifest sha256:\w+$/);
  });

  it('refuses JSON nested without bound, in index.json and in a config, without a stack overflow', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const parts = validLayout();
    expect(await refusedLayout({ ...parts, index: `{"schemaVersion":2,"manifests":${deep}}` })).toBe(
      'index.json: JSON nested deeper than 64 levels',
    );
    const { layer, config } = imageParts();
    const configBytes = json(`${JSON.stringify(config).slice(0, -1)},"x":${deep}}`);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: describeBlob(configBytes, MediaType.ociConfig),
      layers: [describeBlob(layer, MediaType.ociLayer)],
    };
    const manifestBytes = json(manifest);
    expect(await refusedLayout({ index: indexFor(manifestBytes), blobs: [layer, configBytes, manifestBytes] })).toMatch(
      /^entry blobs\/sha256\/\w+: JSON nested deeper than 64 levels$/,
    );
  });

  it('refuses layers of an unknown media type, and foreign layers with a message of their own', async () => {
    const unknown = validLayout((m) => {
      m.layers = [{ ...((m.layers as Descriptor[])[0] as Descriptor), mediaType: 'application/vnd.example.squashfs' }];
    });
    expect(await refusedLayout(unknown)).toMatch(
      /^layer sha256:\w+: unknown layer media type "application\/vnd\.example\.squashfs" .*refused rather than/,
    );
    const foreign = validLayout((m) => {
      m.layers = [
        {
          ...((m.layers as Descriptor[])[0] as Descriptor),
          mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
          urls: ['https://example.com/layer'],
        },
      ];
    });
    expect(await refusedLayout(foreign)).toMatch(/^layer sha256:\w+: a foreign \(non-distributable\) layer/);
  });
});
