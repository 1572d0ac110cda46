/**
 * Runs a container's command on its own writable layer (`run`, `start`): the image's snapshots as
 * lowerdirs, `containers/<id>/upper` as the upperdir, under the runner RUN steps use, attached to
 * tzbuild's stdio. The record says `running` (with this process as owner) while it runs, then
 * `exited` with the code; a run whose process is killed is marked exited by recovery.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import type { ImageView, RunMount, RunResult } from '../core/ports.js';
import { DEFAULT_PATH } from '../builder/state.js';
import { resolveRunUser } from '../builder/users.js';
import type { ContainerRecord } from '../store/containers.js';
import { layeredView } from '../store/snapshot-views.js';
import { isOwnerAlive, ownerId } from '../sys/file-lock.js';
import { mountsUnder } from '../sys/mounts.js';
import { commandOf } from './create.js';
import type { ContainerDeps } from './deps.js';
import { containerLowerdirs } from './layers-view.js';

/** How a run talks to the user: attach stdin, give a terminal, where output without one goes. */
export interface RunIo {
  stdin: boolean;
  tty: boolean;
  /** Output of a run without a terminal (also written to the container's log). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** A run's end; `failure` says why the command could not start (exit 126 or 127, as docker). */
export type ContainerExit = RunResult & { failure?: string };

/** Runs the container's command once; resolves with its exit (the record is updated either way). */
export async function startContainer(deps: ContainerDeps, record: ContainerRecord, io: RunIo): Promise<ContainerExit> {
  const dirs = deps.containers.dirs(record.id);
  // Overlay refuses an upperdir another mount uses: `tzbuild mount` must be undone first.
  if ((await mountsUnder(dirs.dir)).length > 0)
    throw new UserError(
      `container ${record.name} is mounted (tzbuild umount ${record.name} first)`,
      'CONTAINER_MOUNTED',
    );
  await deps.containers.update(record.id, (current) => {
    if (current.state.status === 'running')
      throw new UserError(`container ${record.name} is already running`, 'CONTAINER_RUNNING');
    return {
      ...current,
      state: { status: 'running', exitCode: 0, startedAt: new Date().toISOString(), owner: ownerId() },
    };
  });
  let result: ContainerExit | undefined;
  try {
    result = await runOnce(deps, record, io);
    return result;
  } finally {
    const exitCode = result?.exitCode ?? 125;
    await deps.containers.update(record.id, (latest) => ({
      ...latest,
      state: {
        status: 'exited',
        exitCode,
        ...(latest.state.startedAt ? { startedAt: latest.state.startedAt } : {}),
        finishedAt: new Date().toISOString(),
      },
    }));
  }
}

async function runOnce(deps: ContainerDeps, record: ContainerRecord, io: RunIo): Promise<ContainerExit> {
  const dirs = deps.containers.dirs(record.id);
  const lowerdirs = await containerLowerdirs(deps, record);
  // The container's own layer counts too: a user added inside it can be named by `start`'s -u.
  const view = layeredView([...lowerdirs, dirs.upper]);
  const ids = await resolveRunUser(view, record.config.User);
  const env = runtimeEnv(record, ids.home);
  // Checked here, as dockerd does before it starts anything: the runtimes' own messages and
  // statuses for this differ (1 from runc and crun, 127 from the namespace runner).
  const failure = await commandProblem(view, commandOf(record)[0] ?? '', env, record.config.WorkingDir || '/');
  if (failure !== undefined) return failure;
  // Written synchronously, in order; a terminal session is not logged (the runtime relays it).
  const log = io.tty ? undefined : openSync(dirs.log, 'w', 0o600);
  const runner = await deps.runner(io.tty);
  try {
    return await runner.run({
      lowerdirs,
      upperdir: dirs.upper,
      workdir: dirs.work,
      args: commandOf(record),
      env,
      cwd: record.config.WorkingDir || '/',
      uid: ids.uid,
      gid: ids.gid,
      additionalGids: ids.additionalGids,
      hostname: record.config.Hostname,
      network: record.hostConfig.network,
      mounts: record.hostConfig.binds.map(bindMount),
      attach: { stdin: io.stdin, tty: io.tty },
      onOutput: (stream, chunk) => {
        io.onOutput?.(stream, chunk);
        if (log !== undefined) writeSync(log, chunk);
      },
    });
  } finally {
    if (log !== undefined) closeSync(log);
  }
}

/** Why `command` cannot be run (not found: 127, not a file: 126), as Docker says it; else undefined. */
async function commandProblem(
  view: ImageView,
  command: string,
  env: string[],
  cwd: string,
): Promise<ContainerExit | undefined> {
  const pathVar = env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const candidates = command.includes('/')
    ? [posix.resolve(cwd, command)]
    : pathVar
        .split(':')
        .filter(Boolean)
        .map((dir) => posix.join(posix.resolve(cwd, dir), command));
  let found: Stats | undefined;
  for (const candidate of candidates) {
    found = await view.stat(candidate);
    if (found?.isFile()) return undefined;
  }
  if (found !== undefined || command.includes('/')) {
    if (found === undefined) return { exitCode: 127, failure: `exec: "${command}": no such file or directory` };
    return { exitCode: 126, failure: `exec: "${command}": permission denied (not a regular file)` };
  }
  return { exitCode: 127, failure: `exec: "${command}": executable file not found in $PATH` };
}

/**
 * Stops a running container (`rm -f`): its `tzbuild run` process is killed, and recovery then
 * stops the runtime's container and marks the record exited, as after any killed run.
 */
export async function killContainer(deps: ContainerDeps, record: ContainerRecord): Promise<void> {
  const owner = record.state.owner;
  if (record.state.status !== 'running' || owner === undefined) return;
  const pid = Number(owner.split('.')[0]);
  if (isOwnerAlive(owner)) process.kill(pid, 'SIGKILL');
  for (let waited = 0; isOwnerAlive(owner); waited += 20) {
    if (waited > 10_000)
      throw new UserError(`container ${record.name}: its process ${pid} does not end`, 'KILL_FAILED');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await deps.recover();
}

/** What the daemon adds at run time, as Docker does: PATH when unset, HOME, TERM with a terminal. */
function runtimeEnv(record: ContainerRecord, home: string): string[] {
  const env = [...record.config.Env];
  const has = (key: string) => env.some((entry) => entry.startsWith(`${key}=`));
  if (!has('PATH')) env.push(`PATH=${DEFAULT_PATH}`);
  if (!has('HOME')) env.push(`HOME=${home}`);
  if (record.config.Tty && !has('TERM')) env.push('TERM=xterm');
  return env;
}

/** `-v HOST:CTR[:ro]`: a bind; a missing host dir is created, as `docker run -v` does. */
function bindMount(spec: string): RunMount {
  const [source = '', target = '', mode] = spec.split(':');
  mkdirSync(source, { recursive: true });
  return { kind: 'bind', source, target, readonly: mode === 'ro' };
}
