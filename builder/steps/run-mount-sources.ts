/**
 * Opening one planned `RUN --mount` for a run: the host side of each mount type.
 *
 * - secret: the value in a 0400 file on tmpfs (`/dev/shm`) in a 0700 dir, bound read-only and
 *   removed after the step; or an environment variable (`env=`). Never in a layer or a key.
 * - cache: a persistent dir under `STORE/cache-mounts/` (run-cache-mounts.ts; the store root is the
 *   content store's), bound read-write.
 * - bind from a stage or image: its snapshots as a `layers` mount at the resolved source path.
 * - bind from the context: the context path itself, or a copy without the files .dockerignore
 *   leaves out (the step must see what BuildKit would send it, no more).
 */
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { locatedAt, UserError } from '../../core/errors.js';
import type { RunMount } from '../../core/ports.js';
import type { StepContext } from '../session.js';
import { resolveInRoot, withMountedView } from '../rootfs.js';
import type { ContextSource } from '../context/index.js';
import type { CopyOrigin } from './copy-sources.js';
import { acquireCacheMount } from './run-cache-mounts.js';
import type { PlannedMount } from './run-mounts.js';

/** One opened mount: what the runner mounts (if anything), env additions, and the cleanup. */
export interface OpenedMount {
  mount?: RunMount;
  env?: string[];
  close(): Promise<void>;
}

const noop = async (): Promise<void> => undefined;

/** The secret as a file (and/or env var) for this one step. */
export async function secretSource(planned: PlannedMount, scratch: string): Promise<OpenedMount> {
  const { spec, secret, id } = planned;
  const value = await secretValue(id, secret!);
  const env = spec.env === undefined ? [] : [`${spec.env}=${value.toString('utf8')}`];
  if (planned.target === '') return { env, close: noop };
  const parent = existsSync('/dev/shm') ? '/dev/shm' : scratch;
  const dir = await mkdtemp(join(parent, 'tzbuild-secret-'));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const file = join(dir, 'secret');
    await writeFile(file, value, { mode: 0o400 });
    await chown(file, spec.uid ?? 0, spec.gid ?? 0);
    await chmod(file, spec.mode ?? 0o400);
    return { mount: { kind: 'bind', source: file, target: planned.target, readonly: true }, env, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function secretValue(id: string, secret: NonNullable<PlannedMount['secret']>): Promise<Buffer> {
  if (secret.kind === 'env') {
    const value = process.env[secret.name];
    if (value === undefined)
      throw new UserError(`secret "${id}": environment variable ${secret.name} is not set`, 'SECRET');
    return Buffer.from(value);
  }
  return readFile(secret.path).catch((error: Error) => {
    throw new UserError(`secret "${id}": cannot read ${secret.path}: ${error.message}`, 'SECRET');
  });
}

/** The persistent cache dir, taken (and locked) for this step. */
export async function cacheMountSource(
  planned: PlannedMount,
  ctx: StepContext,
  platform: string,
): Promise<OpenedMount> {
  const { spec, origin } = planned;
  const root = join(ctx.deps.content.root, 'cache-mounts');
  const seed = origin === undefined ? undefined : (dir: string) => seedCache(dir, origin, spec.source ?? '/', ctx);
  const held = await acquireCacheMount(root, {
    id: planned.id,
    platform,
    sharing: spec.sharing ?? 'shared',
    uid: spec.uid ?? 0,
    gid: spec.gid ?? 0,
    mode: spec.mode ?? 0o755,
    ...(seed ? { seed } : {}),
    ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
  });
  return {
    mount: { kind: 'bind', source: held.dir, target: planned.target, readonly: spec.readonly },
    close: () => held.release(),
  };
}

/** A new cache starts with the content of `source` in the `from` stage or image. */
async function seedCache(dir: string, origin: CopyOrigin, source: string, ctx: StepContext): Promise<void> {
  if (origin.kind === 'context') return;
  await withMountedView(ctx.deps.snapshotter, origin.layers, async (root) => {
    const from = await resolveInRoot(root, source);
    // execa is imported only here: a static import would load it in every build.
    if ((await lstat(from).catch(() => undefined))?.isDirectory())
      await (await import('execa')).execa('cp', ['-a', '--', `${from}/.`, `${dir}/`]);
  });
}

/** A stage's or image's filesystem at the (symlink-resolved) source path. */
export async function layersSource(planned: PlannedMount, origin: CopyOrigin, ctx: StepContext): Promise<OpenedMount> {
  if (origin.kind === 'context') throw new Error('layersSource needs a stage or image');
  const { spec } = planned;
  const lowerdirs = await ctx.deps.snapshotter.prepare(origin.layers);
  const source = spec.source || '/';
  const subpath = await withMountedView(ctx.deps.snapshotter, origin.layers, async (root) => {
    const resolved = await resolveInRoot(root, source);
    const info = await lstat(resolved).catch(() => undefined);
    if (info === undefined || (info.isCharacterDevice() && info.rdev === 0)) {
      throw new UserError(`RUN --mount from=${spec.from ?? ''}: ${source} not found`, 'MOUNT_SOURCE');
    }
    return relative(root, resolved);
  });
  const mount: RunMount = {
    kind: 'layers',
    lowerdirs,
    subpath,
    target: planned.target,
    readonly: spec.readonly,
    discardWrites: !spec.readonly,
  };
  return { mount, close: noop };
}

/** A context path: bound as is, or as a filtered copy when .dockerignore leaves something out. */
export async function contextBindSource(
  planned: PlannedMount,
  ctx: StepContext,
  scratch: string,
): Promise<OpenedMount> {
  const source = planned.contextSource!;
  const base: Omit<RunMount, 'source'> = {
    kind: 'bind',
    target: planned.target,
    readonly: planned.spec.readonly,
    discardWrites: !planned.spec.readonly,
  };
  if (!source.stat.isDirectory() || !(await excludesSomething(ctx, source)))
    return { mount: { ...base, source: source.abs }, close: noop };
  const copy = join(scratch, 'context');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  try {
    await copyIncluded(ctx, source, copy);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  return { mount: { ...base, source: copy }, close: () => rm(scratch, { recursive: true, force: true }) };
}

/** True when the ignore rules leave out something below `source`. */
async function excludesSomething(ctx: StepContext, source: ContextSource): Promise<boolean> {
  let included = 0;
  for await (const entry of ctx.context.walk(source)) if (entry.rel !== '.') included += 1;
  const all = await readdir(source.abs, { recursive: true });
  return all.length !== included;
}

async function copyIncluded(ctx: StepContext, source: ContextSource, copy: string): Promise<void> {
  const prefix = Buffer.from(`${copy}/`);
  for await (const entry of ctx.context.walk(source)) {
    // Named by bytes: a name that is not UTF-8 reaches the step exactly as the context has it.
    const dest = entry.rel === '.' ? Buffer.from(copy) : Buffer.concat([prefix, entry.relBytes]);
    if (entry.stat.isDirectory()) await mkdir(dest, { mode: entry.stat.mode & 0o7777 }).catch(ignoreExists);
    else if (entry.stat.isSymbolicLink()) await symlink(await readlink(entry.absBytes), dest);
    else if (entry.stat.isFile()) await copyFile(entry.absBytes, dest);
  }
}

function ignoreExists(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EEXIST') throw error;
}

/** For errors that belong to the RUN line. */
export function atLine(error: unknown, file: string, line: number): never {
  throw locatedAt(error, file, line);
}
