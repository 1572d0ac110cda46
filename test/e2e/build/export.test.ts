/**
 * Exports: `tzbuild save` / `load -i` both ways, and `build --output` in every type, read back by
 * real tools (skopeo for the archives, umoci's rootfs as the reference filesystem).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildOk,
  cli,
  inspect,
  loadedStore,
  readIn,
  tempDir,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';
import { runTzbuild, tempStore } from '../../helpers/cli.js';

const dockerfile = `FROM busybox:latest
COPY app/ /app/
RUN echo built > /app/built.txt && ln -s /app/built.txt /app/link && rm /etc/group
CMD ["cat", "/app/built.txt"]
`;

let store: string;
let imageId: string;

/** Every path under `root`, with its type, for comparing two trees. */
async function tree(root: string): Promise<string[]> {
  const { stdout } = await execa('find', ['.', '-printf', '%y %m %U:%G %s %p %l\\n'], { cwd: root });
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('d') || !line.endsWith(' .'))
    .sort();
}

describe('exports', () => {
  beforeAll(async () => {
    store = await loadedStore();
    const context = await writeContext({ Dockerfile: dockerfile, 'app/hello.txt': 'hello\n' });
    await buildOk(store, ['-t', 'export:1', context]);
    imageId = (await inspect(store, 'export:1')).Id;
  });

  it('save then load -i into an empty store gives the same image', async () => {
    const archive = path.join(await tempDir('save'), 'export.tar');
    await cli(store, ['save', 'export:1', '-o', archive]);
    const other = await tempStore();
    expect(await cli(other, ['load', '-i', archive])).toContain('Loaded image: export:1');
    expect((await inspect(other, 'export:1')).Id).toBe(imageId);
    const { stdout } = await execa('skopeo', ['inspect', `docker-archive:${archive}`]);
    expect((JSON.parse(stdout) as { Layers: string[] }).Layers).toHaveLength(3);
  });

  it('--output type=docker and type=oci write archives skopeo reads', async () => {
    const dir = await tempDir('out');
    const context = await writeContext({ Dockerfile: dockerfile, 'app/hello.txt': 'hello\n' });
    await buildOk(store, ['-t', 'export:2', '--output', `type=docker,dest=${dir}/d.tar`, context]);
    await buildOk(store, ['-t', 'export:2', '--output', `type=oci,dest=${dir}/o.tar`, context]);
    const docker = JSON.parse(
      (await execa('skopeo', ['inspect', '--config', `docker-archive:${dir}/d.tar`])).stdout,
    ) as { config: { Cmd: string[] } };
    expect(docker.config.Cmd).toEqual(['cat', '/app/built.txt']);
    const oci = JSON.parse(
      (await execa('skopeo', ['inspect', '--config', `oci-archive:${dir}/o.tar:export:2`])).stdout,
    ) as { rootfs: { diff_ids: string[] } };
    expect(oci.rootfs.diff_ids).toHaveLength(3);
  });

  it('--output type=local writes the filesystem a container sees (same as umoci unpack)', async () => {
    const dest = path.join(await tempDir('local'), 'rootfs');
    const context = await writeContext({ Dockerfile: dockerfile, 'app/hello.txt': 'hello\n' });
    await buildOk(store, ['-t', 'export:3', '--output', `type=local,dest=${dest}`, context]);
    expect(await readIn(dest, '/app/built.txt')).toBe('built\n');
    expect(await readdir(path.join(dest, 'etc'))).not.toContain('group');
    expect(await tree(dest)).toEqual(await tree(await unpack(store, 'export:3')));
  });

  it('--output type=tar writes the filesystem as one tar', async () => {
    const file = path.join(await tempDir('tar'), 'fs.tar');
    const context = await writeContext({ Dockerfile: dockerfile, 'app/hello.txt': 'hello\n' });
    await buildOk(store, ['-t', 'export:4', '--output', `type=tar,dest=${file}`, context]);
    const { stdout } = await execa('tar', ['-tvf', file]);
    expect(stdout).toMatch(/app\/link -> \/app\/built\.txt/);
    expect(stdout).toContain('app/hello.txt');
    expect(stdout).not.toMatch(/etc\/group$/m);
    expect((await readFile(file)).length).toBeGreaterThan(1_000_000);
  });

  it('--output type=tar keeps exact modes, FIFOs and hardlinks (same tree as umoci unpack)', async () => {
    const file = path.join(await tempDir('tar'), 'fs.tar');
    const context = await writeContext({
      Dockerfile:
        'FROM busybox:latest\nRUN mkfifo /fifo && mkdir -m 1777 /sticky && chmod 4755 /bin/busybox && echo x > /a && ' +
        'ln /a /b && ln -s /a /sym\n',
    });
    await buildOk(store, ['-t', 'export:5', '--output', `type=tar,dest=${file}`, context]);
    const extracted = await tempDir('untar');
    await execa('tar', ['-xpf', file, '--numeric-owner', '-C', extracted]);
    expect(await tree(extracted)).toEqual(await tree(await unpack(store, 'export:5')));
    const listing = (await execa('tar', ['-tvf', file])).stdout;
    expect(listing).toMatch(/^p.* fifo$/m);
    expect(listing).toMatch(/^drwxrwxrwt .* sticky\/?$/m);
    expect(listing).toMatch(/^h.* b link to a$/m);
  });

  it('refuses a bad --output before building', async () => {
    const context = await writeContext({ Dockerfile: dockerfile, 'app/hello.txt': 'hello\n' });
    const result = await runTzbuild(['build', '--root', store, '--output', 'type=zip,dest=x', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('unknown type "zip"');
  });
});
