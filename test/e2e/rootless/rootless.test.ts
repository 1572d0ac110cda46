/**
 * Rootless builds end to end: real users made with useradd run the real `bin/tzbuild` (through
 * setpriv), which re-executes itself in a user namespace, keeps its store under the user's home
 * and runs RUN steps there with the namespace runner, runc and crun. The images are then read as
 * root: layer tars (owners, whiteouts), the host view of the snapshots (subordinate ids) and the
 * unpacked rootfs.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE,
  blobPath,
  buildOk,
  cli,
  loadedStore,
  manifestOf,
  pathInfo,
  readIn,
  tempDir,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { tzbuildBin } from '../../helpers/cli.js';
import { createUser, giveToUser, removeUser, tzbuildAs, userStore, type TestUser } from './users.js';

const users: TestUser[] = [];

afterAll(async () => {
  for (const user of users.splice(0)) await removeUser(user);
});

/** A new user (removed after the file) with the busybox base loaded into its default store. */
async function userWithBusybox(label: string, subordinateIds: boolean): Promise<TestUser> {
  const user = await createUser(label, subordinateIds);
  users.push(user);
  await loadArchive(user, await makeBusyboxDockerArchive(path.join(user.home, 'busybox.tar'), BASE));
  return user;
}

async function loadArchive(user: TestUser, archive: string): Promise<void> {
  await giveToUser(user, archive);
  const loaded = await tzbuildAs(user, ['load', '-i', archive]);
  expect(loaded.exitCode, loaded.stderr).toBe(0);
}

/** A build context in the user's home, owned by the user. */
async function userContext(user: TestUser, name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(user.home, name);
  await mkdir(dir);
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(dir, file), content);
  await giveToUser(user, dir);
  return dir;
}

async function buildAs(user: TestUser, args: string[]): Promise<string> {
  const result = await tzbuildAs(user, ['build', '--progress', 'plain', ...args]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stderr;
}

interface TarEntry {
  name: string;
  uid: number;
  gid: number;
  type: string;
}

/** Every header of layer `index` of `tag` in `store` (read as root from the blob). */
async function layerEntries(store: string, tag: string, index: number): Promise<TarEntry[]> {
  const layer = (await manifestOf(store, tag)).layers.at(index);
  if (layer === undefined) throw new Error(`${tag} has no layer ${index}`);
  const entries: TarEntry[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (header, body, next) => {
    entries.push({
      name: header.name.replace(/\/$/, ''),
      uid: header.uid ?? -1,
      gid: header.gid ?? -1,
      type: header.type ?? 'file',
    });
    body.on('end', next);
    body.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  createReadStream(blobPath(store, layer.digest)).pipe(extract);
  await done;
  return entries;
}

function entry(entries: TarEntry[], name: string): TarEntry | undefined {
  return entries.find((candidate) => candidate.name === name);
}

/** The first line of the step's uid_map (from `RUN head -1 /proc/self/uid_map`) in plain output. */
function stepUidMap(output: string): string[] {
  const line = output.split('\n').find((text) => /^#\d+ \|\s+0\s+\d+\s+\d+\s*$/.test(text));
  return (
    line
      ?.replace(/^#\d+ \|/, '')
      .trim()
      .split(/\s+/) ?? []
  );
}

describe('rootless with subordinate ids', () => {
  let user: TestUser;

  beforeAll(async () => {
    user = await userWithBusybox('sub', true);
  });

  const dockerfile = [
    `FROM ${BASE}`,
    'RUN mkdir /data && echo one > /data/owned && echo gone > /data/gone && chown 1234:5678 /data/owned && id -u > ' +
      '/data/step-uid',
    'COPY --chown=4321:8765 hello.txt /data/hello.txt',
    'RUN rm /data/gone && head -1 /proc/self/uid_map && echo "pid1=$(cat /proc/1/comm)"',
    'USER app',
    'RUN touch /tmp/by-app',
  ].join('\n');

  it('keeps image owners and whiteouts in the layers and the rootfs', async () => {
    const context = await userContext(user, 'ctx-owners', { Dockerfile: `${dockerfile}\n`, 'hello.txt': 'hello\n' });
    const output = await buildAs(user, ['-t', 'owners:1', context]);
    const store = userStore(user);
    // The default store of a non-root user, owned by that user on the host.
    expect((await stat(store)).uid).toBe(user.uid);
    // The step ran as root of a namespace whose root is the user; `auto` chose the namespace runner.
    expect(stepUidMap(output)).toEqual(['0', String(user.uid), '1']);
    expect(output).toContain('pid1=perl');

    const run = await layerEntries(store, 'owners:1', 1);
    expect(entry(run, 'data/owned')).toMatchObject({ uid: 1234, gid: 5678, type: 'file' });
    const copy = await layerEntries(store, 'owners:1', 2);
    expect(entry(copy, 'data/hello.txt')).toMatchObject({ uid: 4321, gid: 8765, type: 'file' });
    const removal = await layerEntries(store, 'owners:1', 3);
    expect(removal.map((item) => item.name)).toContain('data/.wh.gone');
    // A step as a non-root user of the image (uid 1000, a subordinate id on the host).
    expect(entry(await layerEntries(store, 'owners:1', 4), 'tmp/by-app')).toMatchObject({ uid: 1000, gid: 1000 });

    // On the host the snapshot holds the file under the user's subordinate ids (1234 → start + 1233).
    const snapshots = path.join(store, 'snapshots');
    const owned = (
      await Promise.all(
        (await readdir(snapshots)).map((dir) => stat(path.join(snapshots, dir, 'data/owned')).catch(() => undefined)),
      )
    ).find((found) => found !== undefined);
    expect(owned).toMatchObject({ uid: user.subuidStart! + 1233, gid: user.subgidStart! + 5677 });

    const rootfs = await unpack(store, 'owners:1');
    expect(await pathInfo(rootfs, 'data/owned')).toMatchObject({ uid: 1234, gid: 5678, content: 'one\n' });
    expect(await pathInfo(rootfs, 'data/hello.txt')).toMatchObject({ uid: 4321, gid: 8765, content: 'hello\n' });
    expect(await pathInfo(rootfs, 'data/gone')).toBeUndefined();
    expect(await readIn(rootfs, 'data/step-uid')).toBe('0\n');
    // The base image's non-root owner survived the snapshot and the build.
    expect(await pathInfo(rootfs, 'home/app')).toMatchObject({ uid: 1000, gid: 1000 });
  });

  it('runs a container, diffs and commits it (opaque dir and whiteout in its layer)', async () => {
    const change = 'rm -rf /home && mkdir /home && echo x > /home/new && rm /etc/group && id -u';
    const ran = await tzbuildAs(user, ['run', '--name', 'r1', BASE, 'sh', '-c', change]);
    expect([ran.exitCode, ran.stdout, ran.stderr]).toEqual([0, '0\n', '']);
    const diff = await tzbuildAs(user, ['diff', 'r1']);
    expect(diff.stdout).toBe('C /etc\nD /etc/group\nC /home\nD /home/app\nA /home/new\n');
    expect((await tzbuildAs(user, ['commit', '-m', 'rootless', 'r1', 'r1:1'])).exitCode).toBe(0);
    const look = await tzbuildAs(user, ['run', '--rm', 'r1:1', 'sh', '-c', 'ls /home; ls /etc/group || echo gone']);
    expect(look.stdout).toBe('new\ngone\n');
    expect((await tzbuildAs(user, ['rm', 'r1'])).exitCode).toBe(0);
  });

  it('replaces an image directory (opaque in the layer) and builds on top of it', async () => {
    const context = await userContext(user, 'ctx-opaque', {
      Dockerfile: `FROM ${BASE}\nRUN rm -rf /home && mkdir /home && echo fresh > /home/only\nRUN ls /home > /listing\n`,
    });
    await buildAs(user, ['-t', 'opaque:1', context]);
    const store = userStore(user);
    expect((await layerEntries(store, 'opaque:1', 1)).map((item) => item.name)).toContain('home/.wh..wh..opq');
    const rootfs = await unpack(store, 'opaque:1');
    // The second RUN saw the new /home only: the base's /home/app stayed hidden.
    expect(await readIn(rootfs, 'listing')).toBe('only\n');
  });

  it('produces byte-identical layers to the same build as root', async () => {
    const files = {
      Dockerfile: `${dockerfile.replace(' && head -1 /proc/self/uid_map && echo "pid1=$(cat /proc/1/comm)"', '')}\n`,
      'hello.txt': 'hello\n',
    };
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const userContextDir = await userContext(user, 'ctx-same', files);
    const rootless = await tzbuildAs(user, ['build', '-q', '-t', 'same:1', userContextDir], { env });
    expect(rootless.exitCode, rootless.stderr).toBe(0);
    const rootStore = await loadedStore();
    await buildOk(rootStore, ['-t', 'same:1', await writeContext(files)], { env });
    const digests = async (store: string) => (await manifestOf(store, 'same:1')).layers.map((layer) => layer.digest);
    expect(await digests(userStore(user))).toEqual(await digests(rootStore));
  });

  it.each(['runc', 'crun'])('runs RUN steps under %s rootless too', async (runtime) => {
    const context = await userContext(user, `ctx-${runtime}`, {
      Dockerfile: [
        `FROM ${BASE}`,
        'RUN echo made > /made && chown 1234:5678 /made && rm /etc/group && head -1 /proc/self/uid_map',
        'RUN --network=none ip -o link | wc -l > /links',
      ].join('\n'),
    });
    // --no-cache: the other runtime's build of the same steps would otherwise be reused.
    const output = await buildAs(user, ['--runner', runtime, '--no-cache', '-t', `${runtime}:1`, context]);
    expect(stepUidMap(output)).toEqual(['0', String(user.uid), '1']);
    const layer = await layerEntries(userStore(user), `${runtime}:1`, 1);
    expect(entry(layer, 'made')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(layer.map((item) => item.name)).toContain('etc/.wh.group');
    // Network none inside the user namespace: only loopback.
    expect(await readIn(await unpack(userStore(user), `${runtime}:1`), 'links')).toBe('1\n');
  });

  it('cancels the build inside the namespace when the rootless process gets SIGTERM', async () => {
    const context = await userContext(user, 'ctx-cancel', { Dockerfile: `FROM ${BASE}\nRUN sleep 300\n` });
    const build = execa(
      'setpriv',
      [
        '--reuid',
        String(user.uid),
        '--regid',
        String(user.gid),
        '--init-groups',
        '--reset-env',
        process.execPath,
        tzbuildBin,
        'build',
        '--progress',
        'plain',
        context,
      ],
      { cwd: user.home, reject: false, all: true },
    );
    await waitFor(async () => (await userProcesses(user, 'sleep')).length > 0);
    build.kill('SIGTERM');
    const result = await build;
    expect(result.exitCode).toBe(143);
    expect(result.all).toContain('build cancelled');
    // Nothing of the user's build is left running.
    await waitFor(async () => (await userProcesses(user)).length === 0);
  });
});

describe('rootless without subordinate ids', () => {
  let user: TestUser;

  beforeAll(async () => {
    user = await userWithBusybox('nosub', false);
  });

  it('says which file cannot be created and why when the image has non-root owners', async () => {
    const context = await userContext(user, 'ctx-fail', { Dockerfile: `FROM ${BASE}\nRUN true\n` });
    const result = await tzbuildAs(user, ['build', '--progress', 'plain', context]);
    expect(result.exitCode).toBe(1);
    // busybox's /home/app belongs to uid 1000, which does not exist in the namespace.
    expect(result.stderr).toMatch(/error: .*cannot apply entry "home\/app"/);
    expect(result.stderr).toMatch(
      /owner 1000:1000 does not exist in this rootless user namespace \(give the user subordinate ids/,
    );
    expect(result.stderr).not.toContain('note:');
  });

  it('builds images whose files all belong to root, whiteouts included', async () => {
    // A root-only base: busybox flattened by root with every owner reset to 0.
    const rootStore = await loadedStore();
    await buildOk(rootStore, [
      '-t',
      'rootonly:1',
      await writeContext({ Dockerfile: `FROM ${BASE} AS b\nFROM scratch\nCOPY --chown=0:0 --from=b / /\n` }),
    ]);
    const archive = path.join(await tempDir('rootonly'), 'rootonly.tar');
    await cli(rootStore, ['save', '-o', archive, 'rootonly:1']);
    const userArchive = path.join(user.home, 'rootonly.tar');
    await execa('cp', [archive, userArchive]);
    await loadArchive(user, userArchive);

    const context = await userContext(user, 'ctx-rootonly', {
      Dockerfile: 'FROM rootonly:1\nRUN echo made > /made && rm /etc/group && wc -l < /proc/self/uid_map > /maps\n',
    });
    await buildAs(user, ['-t', 'made:1', context]);
    const layer = await layerEntries(userStore(user), 'made:1', 1);
    expect(entry(layer, 'made')).toMatchObject({ uid: 0, gid: 0 });
    expect(layer.map((item) => item.name)).toContain('etc/.wh.group');
    const rootfs = await unpack(userStore(user), 'made:1');
    expect(await readIn(rootfs, 'made')).toBe('made\n');
    expect(await pathInfo(rootfs, 'etc/group')).toBeUndefined();
    // One line: only the user itself is mapped.
    expect(await readIn(rootfs, 'maps')).toBe('1\n');
  });
});

/** pids of `user`'s processes (optionally only those named `name`). */
async function userProcesses(user: TestUser, name?: string): Promise<number[]> {
  const { stdout } = await execa('pgrep', ['-u', String(user.uid), ...(name ? ['-x', name] : [])], { reject: false });
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** Polls `condition` until it holds (fails after 60 s). */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
