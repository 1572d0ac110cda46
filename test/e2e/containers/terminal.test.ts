/**
 * The container workflow in a real terminal (tmux), as a person does it: `run -it` a shell,
 * change files (some from a lower layer), see the terminal size follow the window, Ctrl-C a
 * command and keep the shell, Ctrl-D out; then `diff`, `commit -m -a`, `history`, run the new
 * image, and `docker load` its `save` into a real dockerd, which runs it the same.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild, tempStore, tzbuildBin } from '../../helpers/cli.js';
import { type PrivateDockerd, startDockerd } from '../../helpers/dockerd.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { TmuxServer } from '../../helpers/tmux.js';

const privileged = await canRunPrivileged();
const terminal = new TmuxServer();

const BASE = `FROM busybox:latest
RUN mkdir -p /data/gone && echo a > /data/a && echo c > /data/c && echo g > /data/gone/g
`;

let scratch: string;
let store: string;
let dockerd: PrivateDockerd | undefined;

async function ok(args: string[]): Promise<string> {
  const result = await runTzbuild(args, { env: { TZBUILD_ROOT: store } });
  expect(result.exitCode, `tzbuild ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** `tzbuild ARGS` in a new 120×40 session. */
function startTzbuild(name: string, args: string[]): Promise<string> {
  const quoted = [tzbuildBin, ...args].map((arg) => `'${arg}'`).join(' ');
  return terminal.start(name, `TZBUILD_ROOT='${store}' '${process.execPath}' ${quoted}`);
}

/** Types a command and waits for its output line (a line of the screen matching `expected`). */
async function expectLine(session: string, command: string, expected: RegExp): Promise<void> {
  await terminal.type(session, command);
  await terminal.waitForScreen(session, (screen) => screen.split('\n').some((line) => expected.test(line)), 20_000);
}

beforeAll(async () => {
  if (!privileged) return;
  await TmuxServer.ensureInstalled();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-terminal-'));
  store = await tempStore();
  await ok(['load', await makeBusyboxDockerArchive(path.join(scratch, 'busybox.tar'), 'busybox:latest')]);
  await mkdir(path.join(scratch, 'base'));
  await writeFile(path.join(scratch, 'base', 'Dockerfile'), BASE);
  await ok(['build', '-q', '-t', 'base:1', path.join(scratch, 'base')]);
  dockerd = await startDockerd();
}, 300_000);

afterAll(async () => {
  await terminal.kill();
  await dockerd?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe.skipIf(!privileged)('containers in a real terminal (tmux)', () => {
  it('run -it, change files, diff, commit -m -a, history, run it, and dockerd runs it the same', async () => {
    const session = await startTzbuild('shell', ['run', '-it', '--name', 'c1', 'base:1', 'sh']);
    await terminal.waitForScreen(session, (screen) => /^\/ #/m.test(screen), 30_000);
    // A terminal of its own, the window's size, and resizes follow.
    await expectLine(session, 'tty; stty size', /^40 120$/);
    await terminal.resize(session, 100, 30);
    await expectLine(session, 'stty size', /^30 100$/);
    await expectLine(session, 'echo "TERM=$TERM"', /^TERM=xterm$/);
    // Ctrl-C stops the command, not the container.
    await terminal.type(session, 'sleep 60');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await terminal.send(session, 'C-c');
    await expectLine(session, 'echo still here', /^still here$/);
    await expectLine(
      session,
      'echo new > /new.txt && echo more >> /data/c && rm /data/a && rm -rf /data/gone && echo changed',
      /^changed$/,
    );
    await terminal.send(session, 'C-d');
    const ended = await terminal.waitForExit(session);
    expect(ended.exit, ended.screen).toBe(0);
    expect(ended.screen).toMatch(/^\/dev\/pts\/\d+$/m);

    expect(await ok(['diff', 'c1'])).toBe('C /data\nD /data/a\nC /data/c\nD /data/gone\nA /new.txt\n');
    expect(await ok(['ps', '-a'])).toMatch(/\s+base:1\s+"sh"\s+.+\s+Exited \(0\) .+\s+c1$/m);

    await ok(['commit', '-m', 'add tools', '-a', 'me', 'c1', 'me/tools:1.0']);
    const history = (await ok(['history', 'me/tools:1.0'])).split('\n');
    expect(history[0]).toMatch(/COMMENT\s+AUTHOR$/);
    expect(history[1]).toMatch(/^[a-f0-9]{12}\s+.+\s+sh\s+[\d.]+k?B\s+add tools\s+me$/);
    const look = 'cat /new.txt /data/c; ls /data';
    const ours = await ok(['run', '--rm', 'me/tools:1.0', 'sh', '-c', look]);
    expect(ours).toBe('new\nc\nmore\nc\n');

    await ok(['save', '-o', path.join(scratch, 'tools.tar'), 'me/tools:1.0']);
    const docker = dockerd!;
    expect((await docker.docker(['load', '-i', path.join(scratch, 'tools.tar')])).exitCode).toBe(0);
    const theirs = await docker.docker(['run', '--rm', 'me/tools:1.0', 'sh', '-c', look]);
    expect(theirs.stdout.trim()).toBe(ours.trim());
  });

  it('the exit code of the command is the exit code of run, with each runner', async () => {
    for (const runner of ['runc', 'namespaces']) {
      const session = await startTzbuild(`exit-${runner}`, ['run', '-it', '--rm', '--runner', runner, 'base:1', 'sh']);
      await terminal.waitForScreen(session, (screen) => /^\/ #/m.test(screen), 30_000);
      await expectLine(session, 'stty size', /^40 120$/);
      await terminal.type(session, 'exit 5');
      expect((await terminal.waitForExit(session)).exit).toBe(5);
    }
    // --rm: nothing left of them, only c1 from the test before.
    expect((await ok(['ps', '-a', '-q'])).trim().split('\n')).toHaveLength(1);
  });
});
