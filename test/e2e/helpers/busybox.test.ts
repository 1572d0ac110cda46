import { execa } from 'execa';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import tarStream from 'tar-stream';
import { createReadStream } from 'node:fs';
import { busyboxLayer, busyboxRootfs, makeBusyboxDockerArchive } from '../../helpers/busybox.js';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-bbtest-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** Lists a tar's entries with their headers and (small) contents. */
async function readTar(file: string): Promise<Map<string, { header: tarStream.Header; body: Buffer }>> {
  const entries = new Map<string, { header: tarStream.Header; body: Buffer }>();
  const extract = tarStream.extract();
  createReadStream(file).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, { header: entry.header, body: Buffer.concat(chunks) });
  }
  return entries;
}

describe('busybox test image', () => {
  it('builds a rootfs with applets, users and the usual dirs', async () => {
    const root = await busyboxRootfs();
    expect(await readlink(path.join(root, 'bin/sh'))).toBe('busybox');
    expect((await lstat(path.join(root, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await lstat(path.join(root, 'home/app'))).uid).toBe(process.getuid?.() === 0 ? 1000 : process.getuid?.());
    expect(await readFile(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^app:x:1000:1000:/m);
    const { stdout } = await execa(path.join(root, 'bin/busybox'), ['echo', 'works']);
    expect(stdout).toBe('works');
  });

  it('writes a docker-archive that skopeo can read', async () => {
    const file = await makeBusyboxDockerArchive(path.join(scratch, 'bb.tar'), 'example/bb:1');
    const entries = await readTar(file);
    const manifest = JSON.parse(entries.get('manifest.json')!.body.toString()) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(manifest[0]!.RepoTags).toEqual(['example/bb:1']);
    const config = JSON.parse(entries.get(manifest[0]!.Config)!.body.toString());
    const layer = await busyboxLayer();
    expect(config.rootfs.diff_ids).toEqual([layer.diffId]);
    expect(config.config.Cmd).toEqual(['sh']);
    expect(entries.get(manifest[0]!.Layers[0]!)!.body.length).toBe(layer.size);
    const skopeo = await execa('skopeo', ['inspect', '--config', `docker-archive:${file}`], { reject: false });
    expect(skopeo.stderr).toBe('');
    expect(JSON.parse(skopeo.stdout).rootfs.diff_ids).toEqual([layer.diffId]);
  });

  it('packs the layer deterministically with ids and modes kept', async () => {
    const layer = await busyboxLayer();
    const entries = await readTar(layer.file);
    expect(entries.has('.')).toBe(false);
    expect(entries.get('tmp')?.header.mode).toBe(0o1777);
    expect(entries.get('bin/sh')?.header).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(entries.get('home/app')?.header.uid).toBe(process.getuid?.() === 0 ? 1000 : process.getuid?.());
  });
});
