/**
 * `tzbuild run`'s first half (`docker create`): a record from the image's config and the command
 * line, as Docker merges them, and the container's dirs in the store.
 */
import { isAbsolute } from 'node:path';
import { UserError } from '../core/errors.js';
import type { ResolvedImage } from '../core/ports.js';
import { ContainerStore, type ContainerRecord } from '../store/containers.js';
import type { ContainerDeps } from './deps.js';
import { generateName, validName } from './names.js';

/** The options of `run` that shape the container (`docker create`'s). */
export interface CreateOptions {
  image: string;
  /** What follows IMAGE: replaces the image's CMD. */
  command: string[];
  name?: string;
  /** `-e K=V`, or `-e K` to pass tzbuild's own value of K. */
  env: string[];
  workdir?: string;
  user?: string;
  /** `-v HOST:CTR[:ro|rw]`. */
  volumes: string[];
  network?: 'host' | 'none';
  entrypoint?: string;
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
}

/** Creates the container (not started); the image is pulled when the store lacks it. */
export async function createContainer(deps: ContainerDeps, options: CreateOptions): Promise<ContainerRecord> {
  if (options.name !== undefined && !validName(options.name))
    throw new UserError(
      `invalid container name "${options.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      'USAGE',
    );
  const binds = options.volumes.map(checkBind);
  const image = await deps.images.resolve(options.image);
  const id = ContainerStore.newId();
  const taken = new Set((await deps.containers.list()).map((record) => record.name));
  const record: ContainerRecord = {
    id,
    name: options.name ?? generateName(taken),
    created: new Date().toISOString(),
    image: { id: image.configDigest, manifest: image.manifestDigest, name: options.image },
    config: processConfig(image, options, id),
    hostConfig: { binds, network: options.network ?? 'host', autoRemove: options.autoRemove },
    state: { status: 'created', exitCode: 0 },
  };
  if (commandOf(record).length === 0)
    throw new UserError(
      `no command specified: ${options.image} has no ENTRYPOINT or CMD; name one after the image`,
      'USAGE',
    );
  await deps.containers.create(record);
  return record;
}

/** Entrypoint + Cmd: what the container runs. */
export function commandOf(record: ContainerRecord): string[] {
  return [...(record.config.Entrypoint ?? []), ...(record.config.Cmd ?? [])];
}

/** Docker's merge: arguments replace CMD; --entrypoint replaces ENTRYPOINT and drops the image's CMD. */
function processConfig(image: ResolvedImage, options: CreateOptions, id: string): ContainerRecord['config'] {
  const config = image.config.config;
  const entrypoint = options.entrypoint !== undefined ? [options.entrypoint].filter(Boolean) : config.Entrypoint;
  const cmd = options.command.length > 0 ? options.command : options.entrypoint !== undefined ? undefined : config.Cmd;
  return {
    ...(entrypoint && entrypoint.length > 0 ? { Entrypoint: entrypoint } : {}),
    ...(cmd && cmd.length > 0 ? { Cmd: cmd } : {}),
    Env: mergeEnv(config.Env ?? [], options.env),
    WorkingDir: options.workdir ?? (config.WorkingDir || '/'),
    User: options.user ?? config.User ?? '',
    Hostname: id.slice(0, 12),
    Tty: options.tty,
    OpenStdin: options.interactive,
    ...(config.Labels ? { Labels: config.Labels } : {}),
  };
}

/** The image's Env with `-e` values replacing same-named ones; `-e K` takes K from our env (or drops it). */
function mergeEnv(imageEnv: string[], given: string[]): string[] {
  const env = new Map(imageEnv.map((entry) => splitEntry(entry)));
  for (const entry of given) {
    if (entry.includes('=')) {
      const [key, value] = splitEntry(entry);
      if (key === '') throw new UserError(`invalid environment variable: ${entry}`, 'USAGE');
      env.set(key, value);
    } else if (process.env[entry] !== undefined) env.set(entry, process.env[entry]);
  }
  return [...env].map(([key, value]) => `${key}=${value}`);
}

function splitEntry(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** `-v HOST:CTR[:ro|rw]`: both absolute (named volumes are not a thing here). */
function checkBind(spec: string): string {
  const [host = '', target = '', mode, ...rest] = spec.split(':');
  const fail = (why: string) => new UserError(`-v ${spec}: ${why}`, 'USAGE');
  if (rest.length > 0 || (mode !== undefined && mode !== 'ro' && mode !== 'rw'))
    throw fail('use HOST:CONTAINER or HOST:CONTAINER:ro');
  if (!isAbsolute(host)) throw fail('the host path must be absolute (tzbuild has no named volumes)');
  if (!isAbsolute(target)) throw fail('the container path must be absolute');
  return spec;
}
