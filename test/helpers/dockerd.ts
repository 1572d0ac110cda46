/**
 * One private dockerd for a test file: Debian's docker.io with its own data root, exec root and
 * socket under a temp dir, no bridge and no iptables, so it never touches the host's network or
 * another docker. `stop()` ends it and removes the mounts and files it left.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';

/** The 20.10 client that matches Debian's dockerd. */
const dockerCli = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export interface DockerResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface PrivateDockerd {
  /** Its data root: image configs are read from there byte for byte. */
  dataRoot: string;
  /** Runs the docker CLI against this daemon (BuildKit on); never throws for a non-zero exit. */
  docker(args: string[], options?: { input?: string }): Promise<DockerResult>;
  stop(): Promise<void>;
}

/** `extraArgs` go to dockerd (`--registry-mirror URL`, `--insecure-registry HOST` …). */
export async function startDockerd(extraArgs: readonly string[] = []): Promise<PrivateDockerd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzb-parity-dockerd-'));
  const dataRoot = path.join(dir, 'data');
  await mkdir(dataRoot);
  const socket = path.join(dir, 'docker.sock');
  const daemon: ResultPromise = execa(
    'dockerd',
    [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      '--ip-forward=false',
      '--data-root',
      dataRoot,
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'dockerd.pid'),
      '--host',
      `unix://${socket}`,
      ...extraArgs,
    ],
    { reject: false, stdout: 'ignore', stderr: { file: path.join(dir, 'dockerd.log') } },
  );

  const docker = async (args: string[], options: { input?: string } = {}): Promise<DockerResult> => {
    const result = await execa(dockerCli, ['-H', `unix://${socket}`, ...args], {
      reject: false,
      input: options.input ?? '',
      env: { DOCKER_BUILDKIT: '1' },
    });
    return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
  };

  const stop = async (): Promise<void> => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    const killer = setTimeout(() => daemon.kill('SIGKILL'), 20_000);
    await daemon;
    clearTimeout(killer);
    // dockerd can leave overlay and netns mounts under its roots when it stops hard.
    const mounts = (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mount) => mount.startsWith(dir))
      .sort()
      .reverse();
    for (const mount of mounts) await execa('umount', ['-l', mount], { reject: false });
    await rm(dir, { recursive: true, force: true });
  };

  // Wait for the daemon to answer (or to die), up to a minute.
  for (let i = 0; i < 240 && daemon.exitCode === null; i++) {
    if ((await docker(['version'])).exitCode === 0) return { dataRoot, docker, stop };
    await sleep(250);
  }
  const log = await readFile(path.join(dir, 'dockerd.log'), 'utf8').catch(() => '');
  await stop();
  throw new Error(`dockerd did not start:\n${log.split('\n').slice(-20).join('\n')}`);
}
