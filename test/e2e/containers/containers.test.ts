/**
 * Containers end to end: `run` on an image built here, the writable layer it leaves, `diff`
 * against a real dockerd doing the same, `commit` into an image that runs in tzbuild and, loaded,
 * in dockerd; `ps`, `start`, `rm`, `container prune`; `inspect`'s GraphDriver, `mount`, `export`;
 * what GC, `rmi`, recovery and fsck do about containers.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild, tempStore, tzbuildBin } from '../../helpers/cli.js';
import { type PrivateDockerd, startDockerd } from '../../helpers/dockerd.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { expectFsckClean } from '../../helpers/store-state.js';

const privileged = await canRunPrivileged();

/** The image containers start from: busybox plus a layer with files to change and delete. */
const BASE = `FROM busybox:latest
RUN mkdir -p /data/sub/deep /data/gone /srv && echo a > /data/a && echo b > /data/sub/b \\
 && echo d > /data/sub/deep/d && echo g > /data/gone/g && echo c > /data/c && echo keep > /srv/keep
CMD ["sh"]
`;

/** Every kind of change: modify a lower file, delete files and a dir, replace a dir, add, chmod, link. */
const CHANGES = [
  'echo x >> /etc/passwd',
  'rm /data/a',
  'rm -rf /data/gone',
  'rm -rf /data/sub && mkdir /data/sub && echo n > /data/sub/new',
  'mkdir -p /opt/x && echo y > /opt/x/y',
  'touch /data/c',
  'chmod 700 /srv',
  'ln -s /opt/x/y /data/link',
  'echo h > /root/.ash_history',
].join(' && ');

let scratch: string;
let store: string;
let dockerd: PrivateDockerd | undefined;

const tz = (args: string[], options: { input?: string } = {}) =>
  runTzbuild(args, { env: { TZBUILD_ROOT: store }, ...options });

async function ok(args: string[], options: { input?: string } = {}): Promise<string> {
  const result = await tz(args, options);
  expect(result.exitCode, `tzbuild ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  if (!privileged) return;
  scratch = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-containers-'));
  store = await tempStore();
  const archive = await makeBusyboxDockerArchive(path.join(scratch, 'busybox.tar'), 'busybox:latest');
  await ok(['load', archive]);
  await mkdir(path.join(scratch, 'base'));
  await writeFile(path.join(scratch, 'base', 'Dockerfile'), BASE);
  await ok(['build', '-q', '-t', 'base:1', path.join(scratch, 'base')]);
  await ok(['save', '-o', path.join(scratch, 'base.tar'), 'base:1']);
  dockerd = await startDockerd();
  const loaded = await dockerd.docker(['load', '-i', path.join(scratch, 'base.tar')]);
  expect(loaded.exitCode, loaded.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await dockerd?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe.skipIf(!privileged)('containers', () => {
  it('diff lists what docker diff lists for the same changes', async () => {
    const ran = await tz(['run', '--name', 'changed', 'base:1', 'sh', '-c', CHANGES]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    const ours = (await ok(['diff', 'changed'])).trim().split('\n');
    const docker = dockerd!;
    expect((await docker.docker(['run', '--name', 'changed', 'base:1', 'sh', '-c', CHANGES])).exitCode).toBe(0);
    const theirs = (await docker.docker(['diff', 'changed'])).stdout.trim().split('\n');
    const byPath = (lines: string[]) => [...lines].sort((a, b) => a.slice(2).localeCompare(b.slice(2)));
    expect(ours).toEqual(byPath(theirs));
    // Sorted by path, and the kinds right where they are easy to get wrong.
    expect(ours).toEqual(byPath(ours));
    expect(ours).toContain('D /data/gone');
    expect(ours).toContain('D /data/sub/deep');
    expect(ours).toContain('C /data/sub');
    expect(ours).toContain('C /srv');
    expect(ours).not.toContain('C /srv/keep');
  });

  it('commit makes an image of the changes: history, -c, same layer twice, and dockerd runs it', async () => {
    const imageId = (
      await ok([
        'commit',
        '-m',
        'add tools',
        '-a',
        'Jane <jane@example.com>',
        '-c',
        'ENV FOO=bar',
        '-c',
        'CMD ["cat", "/opt/x/y"]',
        'changed',
        'me/tools:1.0',
      ])
    ).trim();
    expect(imageId).toMatch(/^sha256:[a-f0-9]{64}$/);
    const history = await ok(['history', 'me/tools:1.0']);
    expect(history.split('\n')[1]).toMatch(/add tools\s+Jane <jane@example.com>$/);
    const [inspected] = JSON.parse(await ok(['inspect', 'me/tools:1.0']));
    expect(inspected.Author).toBe('Jane <jane@example.com>');
    expect(inspected.Config.Env).toContain('FOO=bar');
    expect(inspected.Config.Cmd).toEqual(['cat', '/opt/x/y']);
    expect(inspected.History.at(-1)).toMatchObject({ comment: 'add tools', author: 'Jane <jane@example.com>' });
    // Its new layer is not unpacked yet, and inspect does not unpack it: no dirs to name.
    expect(inspected.GraphDriver).toEqual({ Name: 'overlay2', Data: {} });
    // Committing again with nothing changed in between gives the same layer.
    await ok(['commit', 'changed', 'me/tools:again']);
    const [again] = JSON.parse(await ok(['inspect', 'me/tools:again']));
    expect(again.RootFS.Layers.at(-1)).toBe(inspected.RootFS.Layers.at(-1));

    const look = 'cat /opt/x/y; ls /data; ls /data/sub; echo $FOO; tail -n1 /etc/passwd; stat -c %a /srv';
    const ours = await ok(['run', '--rm', 'me/tools:1.0', 'sh', '-c', look]);
    expect(ours).toBe('y\nc\nlink\nsub\nnew\nbar\nx\n700\n');
    expect(await ok(['run', '--rm', 'me/tools:1.0'])).toBe('y\n');
    const [unpacked] = JSON.parse(await ok(['inspect', 'me/tools:1.0']));
    expect(unpacked.GraphDriver.Data.LowerDir.split(':')).toHaveLength(2);
    expect(existsSync(unpacked.GraphDriver.Data.UpperDir)).toBe(true);
    // A bad -c changes nothing.
    const refused = await tz(['commit', '-c', 'RUN true', 'changed', 'me/tools:bad']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^error: -c 'RUN true': RUN is not a change commit can make/);
    expect((await tz(['inspect', 'me/tools:bad'])).exitCode).toBe(1);

    await ok(['save', '-o', path.join(scratch, 'tools.tar'), 'me/tools:1.0']);
    const docker = dockerd!;
    expect((await docker.docker(['load', '-i', path.join(scratch, 'tools.tar')])).exitCode).toBe(0);
    const theirs = await docker.docker(['run', '--rm', 'me/tools:1.0', 'sh', '-c', look]);
    expect(theirs.stdout.trim()).toBe(ours.trim());
  });

  it('a committed image serves as a FROM like any other', async () => {
    await mkdir(path.join(scratch, 'from-commit'));
    const dockerfile = 'FROM me/tools:1.0\nRUN cat /opt/x/y > /copied && test ! -e /data/a\nCMD ["cat", "/copied"]\n';
    await writeFile(path.join(scratch, 'from-commit', 'Dockerfile'), dockerfile);
    await ok(['build', '-q', '-t', 'on-commit:1', path.join(scratch, 'from-commit')]);
    expect(await ok(['run', '--rm', 'on-commit:1'])).toBe('y\n');
    await ok(['rmi', 'on-commit:1']);
  });

  it('ps, start on the same layer, exit codes, rm and container prune', async () => {
    const count = 'echo run >> /count; wc -l < /count; exit 3';
    const first = await tz(['run', '--name', 'counter', 'base:1', 'sh', '-c', count]);
    expect([first.exitCode, first.stdout]).toEqual([3, '1\n']);
    const second = await tz(['start', '-a', 'counter']);
    expect([second.exitCode, second.stdout]).toEqual([3, '2\n']);
    const all = await ok(['ps', '-a']);
    expect(all.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES$/);
    expect(all).toMatch(/^[a-f0-9]{12}\s+base:1\s+"sh -c echo run >> \/…"\s+.+\s+Exited \(3\) .+\s+counter$/m);
    expect(await ok(['ps'])).not.toContain('counter');
    const id = (await ok(['ps', '-a', '-q', '--no-trunc'])).split('\n').find((line) => line.length === 64);
    expect(id).toMatch(/^[a-f0-9]{64}$/);
    // Names are unique; logs of the last run without a terminal are kept.
    const taken = await tz(['run', '--name', 'counter', 'base:1', 'true']);
    expect(taken.exitCode).toBe(1);
    expect(taken.stderr).toMatch(/the container name "counter" is already in use/);
    const [counter] = JSON.parse(await ok(['inspect', 'counter']));
    expect(await readFile(counter.LogPath, 'utf8')).toBe('2\n');
    expect(await ok(['logs', 'counter'])).toBe('2\n');

    const missing = await tz(['run', '--rm', 'base:1', 'no-such-tool']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toMatch(/exec: "no-such-tool": executable file not found in \$PATH/);

    await ok(['run', '--name', 'stopped', 'base:1', 'true']);
    expect(await ok(['rm', 'stopped'])).toBe('stopped\n');
    expect((await tz(['rm', 'stopped'])).stderr).toMatch(/no such container: stopped/);
    await ok(['rm', 'counter']);
  });

  it('run takes -e, -w, -u, -v and --network as docker run does', async () => {
    const host = path.join(scratch, 'vol');
    await mkdir(host, { mode: 0o777 });
    await chmod(host, 0o777); // the container's user (app, 1000) writes there
    await writeFile(path.join(host, 'in'), 'from host\n');
    const script = 'echo $GREETING; pwd; id -u; cat /mnt/in; echo out > /mnt/out; ip -o link | wc -l';
    const out = await ok([
      'run',
      '--rm',
      '-e',
      'GREETING=hi',
      '-w',
      '/data',
      '-u',
      'app',
      '-v',
      `${host}:/mnt`,
      '--network',
      'none',
      'base:1',
      'sh',
      '-c',
      script,
    ]);
    expect(out).toBe('hi\n/data\n1000\nfrom host\n1\n');
    expect(await readFile(path.join(host, 'out'), 'utf8')).toBe('out\n');
    const readonly = await tz(['run', '--rm', '-v', `${host}:/mnt:ro`, 'base:1', 'touch', '/mnt/nope']);
    expect(readonly.exitCode).not.toBe(0);
    expect(existsSync(path.join(host, 'nope'))).toBe(false);
    // Input through -i; none without it.
    expect(await ok(['run', '--rm', '-i', 'base:1', 'cat'], { input: 'piped\n' })).toBe('piped\n');
    expect(await ok(['run', '--rm', 'base:1', 'cat'], { input: 'piped\n' })).toBe('');
  });

  it('inspect shows GraphDriver dirs that exist; mount shows the merged tree; export writes it', async () => {
    const [container] = JSON.parse(await ok(['inspect', 'changed']));
    expect(container.Name).toBe('/changed');
    expect(container.GraphDriver.Name).toBe('overlay2');
    const data = container.GraphDriver.Data;
    for (const dir of [...data.LowerDir.split(':'), data.UpperDir, data.WorkDir, data.MergedDir])
      expect(existsSync(dir), dir).toBe(true);
    expect(data.LowerDir.split(':')).toHaveLength(2);
    expect(existsSync(path.join(data.UpperDir, 'opt/x/y'))).toBe(true);
    const [image] = JSON.parse(await ok(['inspect', 'base:1']));
    expect(image.GraphDriver.Data.LowerDir.split(':')).toHaveLength(1);
    expect(existsSync(path.join(image.GraphDriver.Data.UpperDir, 'data/gone/g'))).toBe(true);

    const merged = (await ok(['mount', 'changed'])).trim();
    expect(merged).toBe(data.MergedDir);
    expect(await readFile(path.join(merged, 'opt/x/y'), 'utf8')).toBe('y\n');
    expect(existsSync(path.join(merged, 'data/gone'))).toBe(false);
    expect(existsSync(path.join(merged, 'bin/busybox'))).toBe(true);
    const busy = await tz(['start', 'changed']);
    expect(busy.stderr).toMatch(/container changed is mounted \(tzbuild umount changed first\)/);
    await ok(['umount', 'changed']);
    expect(existsSync(path.join(merged, 'bin'))).toBe(false);

    const tar = path.join(scratch, 'changed.tar');
    await ok(['export', 'changed', '-o', tar]);
    const names = (await execa('tar', ['-tf', tar])).stdout.split('\n');
    expect(names).toContain('opt/x/y');
    expect(names).toContain('bin/busybox');
    expect(names).toContain('data/sub/new');
    expect(names.filter((name) => /^data\/(a|gone\/?|sub\/b)$/.test(name))).toEqual([]);
    expect(names.some((name) => name.includes('.wh.'))).toBe(false);
  });

  it("keeps what containers use: rmi refuses, GC keeps the image's snapshots", async () => {
    await ok(['tag', 'base:1', 'only:1']);
    await ok(['run', '--name', 'user', 'only:1', 'true']);
    await ok(['rmi', 'base:1']); // another name stays for the same image
    const refused = await tz(['rmi', 'only:1']);
    expect(refused.exitCode).toBe(1);
    // `changed` (from the first test) uses the same image.
    expect(refused.stderr).toMatch(
      /^error: unable to remove only:1: container (user|changed) \([a-f0-9]{12}\) uses it/,
    );
    // Its image can still lose its last name (to another image): the container keeps it alive.
    await ok(['tag', 'busybox:latest', 'only:1']);
    await ok(['rmi', 'me/tools:1.0']);
    await ok(['rmi', 'me/tools:again']);
    await ok(['prune']);
    expect(await ok(['start', 'user'])).toBe('');
    expect((await ok(['diff', 'user'])).trim()).toBe('');
    await expectFsckClean(store);
  });

  it('a killed run leaves a stopped container and no process; rm -f kills a running one', async () => {
    const run = execa(process.execPath, [tzbuildBin, 'run', '--name', 'killed', 'busybox:latest', 'sleep', '3171'], {
      env: { TZBUILD_ROOT: store },
      reject: false,
    });
    await waitFor(async () => (await execa('pgrep', ['-x', '-f', 'sleep 3171'], { reject: false })).stdout !== '');
    run.kill('SIGKILL');
    await run;
    // The next command's recovery stops the container and marks it exited.
    expect(await ok(['ps', '-a'])).toMatch(/Exited \(137\) .+\s+killed$/m);
    const left = await execa('pgrep', ['-x', '-f', 'sleep 3171'], { reject: false });
    expect(left.stdout).toBe('');

    // rm refuses a running container; rm -f kills it and removes it.
    const running = execa(
      process.execPath,
      [tzbuildBin, 'run', '--name', 'running', 'busybox:latest', 'sleep', '3172'],
      {
        env: { TZBUILD_ROOT: store },
        reject: false,
      },
    );
    await waitFor(async () => (await execa('pgrep', ['-x', '-f', 'sleep 3172'], { reject: false })).stdout !== '');
    expect(await ok(['ps'])).toMatch(/\s+Up .+\s+running$/m);
    expect((await tz(['rm', 'running'])).stderr).toMatch(
      /container running is running \(stop it, or rm -f to kill it\)/,
    );
    expect(await ok(['rm', '-f', 'running'])).toBe('running\n');
    expect((await running).exitCode).not.toBe(0);
    expect((await execa('pgrep', ['-x', '-f', 'sleep 3172'], { reject: false })).stdout).toBe('');
    await expectFsckClean(store);
  });

  it('fsck reports a container that cannot run any more, and --repair removes it', async () => {
    await ok(['run', '--name', 'broken', 'busybox:latest', 'true']);
    const [broken] = JSON.parse(await ok(['inspect', 'broken']));
    await rm(broken.GraphDriver.Data.WorkDir, { recursive: true });
    const found = await tz(['system', 'fsck']);
    expect(found.exitCode).toBe(1);
    expect(found.stdout + found.stderr).toMatch(new RegExp(`containers/${broken.Id}.*work is missing`));
    await ok(['system', 'fsck', '--repair']);
    expect((await tz(['inspect', 'broken'])).exitCode).toBe(1);
    await expectFsckClean(store);
  });

  it('container prune removes every stopped container, and GC then frees their images', async () => {
    const before = await ok(['ps', '-a', '-q', '--no-trunc']);
    expect(before.trim().split('\n').length).toBeGreaterThan(1);
    const pruned = await ok(['container', 'prune', '-f']);
    expect(pruned).toBe(`Deleted Containers:\n${before.trim().split('\n').reverse().join('\n')}\n`);
    expect(await ok(['ps', '-a', '-q'])).toBe('');
    expect(await ok(['container', 'prune'])).toBe('No stopped containers.\n');
    const freed = await ok(['prune']);
    expect(freed).not.toMatch(/^Total reclaimed space: 0B$/m);
    await expectFsckClean(store);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
