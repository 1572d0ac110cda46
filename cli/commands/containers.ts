/** `run`, `start`, `ps`, `rm`, `container prune`, `diff`, `commit`, `logs`, `mount`, `umount`, `export`. */
import { readFile } from 'node:fs/promises';
import { UserError } from '../../core/errors.js';
import { commitContainer } from '../../containers/commit.js';
import { commandOf, createContainer } from '../../containers/create.js';
import type { ContainerDeps } from '../../containers/deps.js';
import { containerChanges, formatChanges } from '../../containers/diff.js';
import { exportContainer } from '../../containers/export.js';
import { containerLowerdirs, isMounted, mountContainer, unmountContainer } from '../../containers/layers-view.js';
import { type ContainerExit, killContainer, startContainer } from '../../containers/run.js';
import type { RunnerKind } from '../../runners/kinds.js';
import type { ContainerRecord } from '../../store/containers.js';
import { normalizeName } from '../../store/tag-store.js';
import { openContainerStore, storeRoot } from '../compose.js';
import { ExitStatus } from '../exit-status.js';
import { formatAge, formatTable } from '../format.js';

interface RootFlags {
  root?: string;
}

interface RunFlags extends RootFlags {
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  env: string[];
  workdir?: string;
  user?: string;
  volume: string[];
  network?: 'host' | 'none';
  entrypoint?: string;
  runner: RunnerKind;
}

function open(flags: RootFlags & { runner?: RunnerKind }): Promise<ContainerDeps> {
  return openContainerStore(storeRoot(flags.root), flags.runner ? { runner: flags.runner } : {});
}

export async function runCommand(image: string, command: string[], flags: RunFlags): Promise<void> {
  const tty = flags.tty === true;
  if (tty && !process.stdin.isTTY)
    throw new UserError('the input device is not a TTY (-t needs a terminal; drop -t to pipe input)', 'USAGE');
  const deps = await open(flags);
  const record = await createContainer(deps, {
    image,
    command,
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    env: flags.env,
    ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    volumes: flags.volume,
    ...(flags.network !== undefined ? { network: flags.network } : {}),
    ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
    tty,
    interactive: flags.interactive === true,
    autoRemove: flags.rm === true,
  });
  let result: ContainerExit;
  try {
    result = await attachRun(deps, record, flags.interactive === true);
  } finally {
    if (flags.rm) await deps.containers.remove(record.id);
  }
  endWith(result);
}

export async function startCommand(name: string, flags: RootFlags & { interactive?: boolean; runner: RunnerKind }) {
  const deps = await open(flags);
  const record = await deps.containers.find(name);
  if (record.config.Tty && !process.stdin.isTTY)
    throw new UserError(`container ${record.name} has a terminal (-t): start it from one`, 'USAGE');
  endWith(await attachRun(deps, record, flags.interactive === true || record.config.OpenStdin));
}

/** Runs attached to our stdio; output without a terminal is passed through as it comes. */
function attachRun(deps: ContainerDeps, record: ContainerRecord, stdin: boolean): Promise<ContainerExit> {
  return startContainer(deps, record, {
    stdin,
    tty: record.config.Tty,
    onOutput: (stream, chunk) => (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
  });
}

/** `docker run` exits with the container's status. */
function endWith(result: ContainerExit): void {
  if (result.failure !== undefined) process.stderr.write(`error: ${result.failure}\n`);
  if (result.exitCode !== 0) throw new ExitStatus(result.exitCode);
}

export async function psCommand(flags: RootFlags & { all?: boolean; quiet?: boolean; trunc: boolean }) {
  const deps = await open(flags);
  const records = (await deps.containers.list())
    .filter((record) => flags.all || record.state.status === 'running')
    .reverse();
  const id = (record: ContainerRecord) => (flags.trunc ? record.id.slice(0, 12) : record.id);
  if (flags.quiet) {
    process.stdout.write(records.map((record) => `${id(record)}\n`).join(''));
    return;
  }
  const rows = records.map((record) => [
    id(record),
    record.image.name,
    quoteCommand(commandOf(record), flags.trunc),
    formatAge(record.created),
    statusText(record),
    record.name,
  ]);
  process.stdout.write(
    `${formatTable([['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], ...rows])}\n`,
  );
}

function quoteCommand(argv: string[], trunc: boolean): string {
  const text = argv.join(' ');
  return JSON.stringify(trunc && text.length > 20 ? `${text.slice(0, 19)}…` : text);
}

/** Docker's STATUS column: `Up 3 minutes`, `Exited (0) 2 hours ago`, `Created`. */
function statusText(record: ContainerRecord): string {
  const { state } = record;
  if (state.status === 'running') return `Up ${formatAge(state.startedAt).replace(/ ago$/, '')}`;
  if (state.status === 'exited') return `Exited (${state.exitCode}) ${formatAge(state.finishedAt || record.created)}`;
  return 'Created';
}

export async function rmCommand(names: string[], flags: RootFlags & { force?: boolean }) {
  const deps = await open(flags);
  for (const name of names) {
    const record = await deps.containers.find(name);
    if (record.state.status === 'running') {
      if (!flags.force)
        throw new UserError(`container ${record.name} is running (stop it, or rm -f to kill it)`, 'CONTAINER_RUNNING');
      await killContainer(deps, record);
    }
    if (await isMounted(deps, record)) {
      if (!flags.force)
        throw new UserError(
          `container ${record.name} is mounted (tzbuild umount ${record.name}, or rm -f)`,
          'CONTAINER_MOUNTED',
        );
      await unmountContainer(deps, record);
    }
    await deps.containers.remove(record.id);
    process.stdout.write(`${name}\n`);
  }
}

export async function pruneContainersCommand(flags: RootFlags) {
  const deps = await open(flags);
  const removed: string[] = [];
  for (const record of await deps.containers.list()) {
    if (record.state.status === 'running' || (await isMounted(deps, record))) continue;
    await deps.containers.remove(record.id);
    removed.push(record.id);
  }
  process.stdout.write(
    removed.length === 0
      ? 'No stopped containers.\n'
      : `Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}`,
  );
}

export async function diffCommand(name: string, flags: RootFlags) {
  const deps = await open(flags);
  const record = await deps.containers.find(name);
  const upper = deps.containers.dirs(record.id).upper;
  const changes = await containerChanges(
    deps.layers.fromUpperdir(upper),
    upper,
    await containerLowerdirs(deps, record),
  );
  process.stdout.write(formatChanges(changes));
}

export async function commitCommand(
  name: string,
  image: string | undefined,
  flags: RootFlags & { message?: string; author?: string; change: string[] },
) {
  const deps = await open(flags);
  const record = await deps.containers.find(name);
  const { imageId } = await commitContainer(deps, record, {
    ...(flags.message !== undefined ? { message: flags.message } : {}),
    ...(flags.author !== undefined ? { author: flags.author } : {}),
    changes: flags.change,
    tags: image === undefined ? [] : [normalizeName(image)],
  });
  process.stdout.write(`${imageId}\n`);
}

export async function logsCommand(name: string, flags: RootFlags) {
  const deps = await open(flags);
  const record = await deps.containers.find(name);
  if (record.config.Tty)
    throw new UserError(`container ${record.name} runs with a terminal (-t): its output is not logged`, 'USAGE');
  const log = await readFile(deps.containers.dirs(record.id).log).catch(() => Buffer.alloc(0));
  process.stdout.write(log);
}

export async function mountCommand(name: string, flags: RootFlags) {
  const deps = await open(flags);
  process.stdout.write(`${await mountContainer(deps, await deps.containers.find(name))}\n`);
}

export async function umountCommand(name: string, flags: RootFlags) {
  const deps = await open(flags);
  const record = await deps.containers.find(name);
  if (!(await unmountContainer(deps, record)))
    throw new UserError(`container ${record.name} is not mounted`, 'NOT_MOUNTED');
  process.stdout.write(`${record.id}\n`);
}

export async function exportCommand(name: string, flags: RootFlags & { output: string }) {
  const deps = await open(flags);
  await exportContainer(deps, await deps.containers.find(name), flags.output);
}
