/**
 * Round trips with real tools: an image tzbuild built runs under `docker run` (after `tzbuild
 * save` → `docker load`, and from a `--output type=docker` archive); skopeo reads the store and
 * copies out of it; umoci unpacks the store and an `--output type=oci` export to the same rootfs;
 * an image `docker save` wrote loads into tzbuild (same image ID) and serves as a FROM.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { BASE, buildOk, cli, inspect, loadedStore, readIn, unpack, writeContext } from '../../helpers/build-fixture.js';
import { startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';

const dockerfile = `FROM busybox
COPY greeting.txt /app/greeting.txt
RUN echo "built by tzbuild as $(id -u)" > /app/built.txt && ln -s /app/built.txt /app/link && rm /etc/group
CMD ["sh", "-c", "cat /app/greeting.txt /app/link; test -e /etc/group || echo group removed"]
`;
const expectedOutput = 'hello from the context\nbuilt by tzbuild as 0\ngroup removed';

let dockerd: PrivateDockerd;
let scratch: string;
let store: string;
let context: string;

/** Every path of a rootfs with type, mode, owner, size and link target, for comparing two trees. */
async function tree(root: string): Promise<string[]> {
  const { stdout } = await execa('find', ['.', '-printf', '%y %m %U:%G %s %p %l\\n'], { cwd: root });
  return stdout
    .split('\n')
    .filter((line) => !line.endsWith(' .'))
    .sort();
}

async function dockerOk(args: string[]): Promise<string> {
  const result = await dockerd.docker(args);
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'tzb-roundtrip-'));
  [dockerd, store] = await Promise.all([startDockerd(), loadedStore()]);
  await dockerOk(['load', '-i', await makeBusyboxDockerArchive(path.join(scratch, 'busybox.tar'), BASE)]);
  context = await writeContext({ Dockerfile: dockerfile, 'greeting.txt': 'hello from the context\n' });
  await buildOk(store, ['-t', 'roundtrip:1', context]);
}, 300_000);

afterAll(async () => {
  await dockerd?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe('round trips with docker, skopeo and umoci', () => {
  it('tzbuild save → docker load → docker run prints what the image holds; the image ID is kept', async () => {
    const archive = path.join(scratch, 'saved.tar');
    await cli(store, ['save', 'roundtrip:1', '-o', archive]);
    expect(await dockerOk(['load', '-i', archive])).toContain('roundtrip:1');
    expect((await dockerOk(['image', 'inspect', '--format', '{{.Id}}', 'roundtrip:1'])).trim()).toBe(
      (await inspect(store, 'roundtrip:1')).Id,
    );
    expect((await dockerOk(['run', '--rm', '--network=none', 'roundtrip:1'])).trim()).toBe(expectedOutput);
  });

  it('a --output type=docker archive loads into docker and runs', async () => {
    const archive = path.join(scratch, 'output-docker.tar');
    await buildOk(store, ['-t', 'roundtrip:out', '--output', `type=docker,dest=${archive}`, context]);
    expect(await dockerOk(['load', '-i', archive])).toContain('roundtrip:out');
    expect((await dockerOk(['run', '--rm', '--network=none', 'roundtrip:out'])).trim()).toBe(expectedOutput);
  });

  it('skopeo inspects the store itself and copies an image out of it into another OCI layout', async () => {
    const view = await inspect(store, 'roundtrip:1');
    const inspected = JSON.parse(
      (await execa('skopeo', ['inspect', '--config', `oci:${store}:roundtrip:1`])).stdout,
    ) as { config: { Cmd: string[] }; rootfs: { diff_ids: string[] } };
    expect(inspected.config.Cmd).toEqual([
      'sh',
      '-c',
      'cat /app/greeting.txt /app/link; test -e /etc/group || echo group removed',
    ]);
    expect(inspected.rootfs.diff_ids).toEqual(view.RootFS.Layers);
    const layout = path.join(scratch, 'copied-layout');
    await execa('skopeo', ['copy', `oci:${store}:roundtrip:1`, `oci:${layout}:copied`]);
    const copied = JSON.parse((await execa('skopeo', ['inspect', '--config', `oci:${layout}:copied`])).stdout) as {
      rootfs: { diff_ids: string[] };
    };
    expect(copied.rootfs.diff_ids).toEqual(view.RootFS.Layers);
    // umoci reads skopeo's copy to the same rootfs as the store's own image.
    const bundle = path.join(scratch, 'copied-bundle');
    await execa('umoci', ['unpack', '--image', `${layout}:copied`, bundle]);
    expect(await tree(path.join(bundle, 'rootfs'))).toEqual(await tree(await unpack(store, 'roundtrip:1')));
  });

  it('umoci unpacks a --output type=oci export to the same rootfs as the store', async () => {
    const archive = path.join(scratch, 'output-oci.tar');
    await buildOk(store, ['-t', 'roundtrip:oci', '--output', `type=oci,dest=${archive}`, context]);
    const layout = path.join(scratch, 'oci-layout');
    await mkdir(layout);
    await execa('tar', ['-xf', archive, '-C', layout]);
    const bundle = path.join(scratch, 'oci-bundle');
    await execa('umoci', ['unpack', '--image', `${layout}:roundtrip:oci`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(await readIn(rootfs, '/app/built.txt')).toBe('built by tzbuild as 0\n');
    expect(await tree(rootfs)).toEqual(await tree(await unpack(store, 'roundtrip:1')));
  });

  it('an image docker built and saved loads into tzbuild with its ID and serves as a FROM', async () => {
    const dockerContext = await writeContext({
      Dockerfile:
        'FROM busybox\nRUN mkdir /from-docker && echo docker-made > /from-docker/file && chmod 0640 ' +
        '/from-docker/file\nENV MADE_BY=docker\n',
    });
    await dockerOk(['build', '--network=none', '-t', 'made-by-docker:1', dockerContext]);
    const archive = path.join(scratch, 'docker-saved.tar');
    await dockerOk(['save', '-o', archive, 'made-by-docker:1']);
    expect(await cli(store, ['load', '-i', archive])).toContain('made-by-docker:1');
    expect((await inspect(store, 'made-by-docker:1')).Id).toBe(
      (await dockerOk(['image', 'inspect', '--format', '{{.Id}}', 'made-by-docker:1'])).trim(),
    );

    const child = await writeContext({
      Dockerfile: 'FROM made-by-docker:1\nRUN cat /from-docker/file > /child.txt && echo "$MADE_BY" >> /child.txt\n',
    });
    await buildOk(store, ['-t', 'child-of-docker:1', child]);
    const rootfs = await unpack(store, 'child-of-docker:1');
    expect(await readFile(path.join(rootfs, 'child.txt'), 'utf8')).toBe('docker-made\ndocker\n');
    expect((await execa('stat', ['-c', '%a', path.join(rootfs, 'from-docker/file')])).stdout).toBe('640');
  });
});
