/**
 * `RUN --mount=…` for the builder: each spec is expanded and parsed, its inputs identified for the
 * cache key (plan), then turned into RunSpec mounts around the runner call (open).
 *
 * What enters the key: type, target, id, sharing, readonly, mode/uid/gid, the identity of `from`
 * (a stage's chain ID, an image's manifest digest) and, for a bind from the context, the content
 * digest of the bound files. Never a secret's value: only its id.
 */
import { posix } from 'node:path';
import { DockerfileError } from '../../core/errors.js';
import type { RunMount } from '../../core/ports.js';
import type { RunInstruction } from '../instructions.js';
import { parseMountSpec, type MountSpec } from '../mounts.js';
import type { SecretSource, StepContext } from '../session.js';
import { expansionEnv, platformOf, type StageState } from '../state.js';
import { expandOrThrow } from '../expand.js';
import { sourceInputs } from '../step-inputs.js';
import type { ContextSource } from '../context/index.js';
import { resolveOrigin, type CopyOrigin } from './copy-sources.js';
import {
  cacheMountSource,
  contextBindSource,
  layersSource,
  secretSource,
  type OpenedMount,
} from './run-mount-sources.js';

/** A mount with its inputs identified, ready for the key and for opening. */
export interface PlannedMount {
  spec: MountSpec;
  /** Absolute target in the step (relative targets are taken from WORKDIR). */
  target: string;
  /** cache/secret id. */
  id: string;
  /** What it contributes to the cache key. */
  key: Record<string, unknown>;
  /** Named inputs for "why did this miss?". */
  explain: Record<string, string>;
  origin?: CopyOrigin;
  contextSource?: ContextSource;
  secret?: SecretSource;
}

/** Expands, parses and identifies every `--mount` of the instruction. */
export async function planMounts(
  state: StageState,
  instruction: RunInstruction,
  ctx: StepContext,
): Promise<PlannedMount[]> {
  const line = instruction.range.startLine;
  const where = { file: ctx.plan.file, escapeToken: ctx.plan.escapeToken, range: instruction.range };
  const env = expansionEnv(state);
  const planned: PlannedMount[] = [];
  for (const raw of instruction.mounts) {
    const spec = parseMountSpec(expandOrThrow(raw, env, where), ctx.plan.file, line);
    const mount = await planOne(spec, state, ctx, line);
    if (mount !== undefined) planned.push(mount);
  }
  return planned;
}

async function planOne(
  spec: MountSpec,
  state: StageState,
  ctx: StepContext,
  line: number,
): Promise<PlannedMount | undefined> {
  const fail = (message: string): never => {
    throw new DockerfileError(message, ctx.plan.file, line);
  };
  if (spec.type === 'ssh') fail('RUN --mount=type=ssh is not supported by tzbuild');
  const workdir = state.config.config.WorkingDir || '/';
  if (spec.type === 'secret') return planSecret(spec, ctx, workdir, fail);
  const target = posix.resolve(workdir, spec.target ?? '');
  const base = { type: spec.type, target, readonly: spec.readonly };
  if (spec.type === 'tmpfs')
    return {
      spec,
      target,
      id: '',
      key: { ...base, size: spec.size },
      explain: { [`mount:${target}`]: `tmpfs ${spec.size ?? ''}` },
    };
  const origin = spec.from === undefined ? undefined : await resolveOrigin(spec.from, ctx);
  const source = spec.source ?? '';
  if (spec.type === 'cache') {
    const id = spec.id || target;
    const key = {
      ...base,
      id,
      sharing: spec.sharing ?? 'shared',
      mode: spec.mode,
      uid: spec.uid,
      gid: spec.gid,
      from: origin && identityOf(origin),
      source,
    };
    return {
      spec,
      target,
      id,
      key,
      explain: { [`mount:${target}`]: JSON.stringify(key) },
      ...(origin ? { origin } : {}),
    };
  }
  if (origin !== undefined) {
    const key = { ...base, from: identityOf(origin), source };
    return { spec, target, id: '', key, explain: { [`mount:${target}`]: JSON.stringify(key) }, origin };
  }
  const [contextSource] = await ctx.context.resolveSources([source || '.'], { allowWildcards: false });
  const summaries = new Map<string, string>();
  const digest = await ctx.context.digestSources([contextSource!], summaries);
  const key = { ...base, source, digest };
  return {
    spec,
    target,
    id: '',
    key,
    explain: { [`mount:${target}`]: `bind ${source} ${spec.readonly}`, ...sourceInputs(digest, summaries) },
    contextSource: contextSource!,
  };
}

/** A secret: its id and target in the key, its value only looked up (a missing required one fails). */
function planSecret(
  spec: MountSpec,
  ctx: StepContext,
  workdir: string,
  fail: (message: string) => never,
): PlannedMount | undefined {
  const id = spec.id || (spec.target ? posix.basename(spec.target) : '');
  if (id === '') fail('RUN --mount=type=secret needs an id (or a target to take it from)');
  const secret = ctx.options.secrets?.get(id);
  if (secret === undefined) {
    if (spec.required) fail(`secret "${id}" is required but was not given (tzbuild build --secret id=${id},src=FILE)`);
    return undefined;
  }
  // BuildKit: with env= and no target the secret is only an environment variable.
  const onlyEnv = spec.env !== undefined && spec.target === undefined;
  const target = onlyEnv ? '' : posix.resolve(workdir, spec.target ?? `/run/secrets/${id}`);
  const key = { type: 'secret', id, target, env: spec.env, mode: spec.mode, uid: spec.uid, gid: spec.gid };
  return { spec, target, id, key, explain: { [`mount:secret:${id}`]: JSON.stringify(key) }, secret };
}

function identityOf(origin: CopyOrigin): string {
  return origin.kind === 'context' ? 'context' : origin.identity;
}

/** The key part of the mounts (in order; the runner applies them in order too). */
export function mountsKey(planned: readonly PlannedMount[]): Record<string, unknown>[] {
  return planned.map((mount) => mount.key);
}

/** The mounts of one run: RunSpec mounts, env additions (secrets as env), and the cleanup. */
export interface OpenedMounts {
  mounts: RunMount[];
  env: string[];
  close(): Promise<void>;
}

/**
 * Opens every planned mount for one run (cache dirs taken and locked, secrets written, stage
 * views resolved); `close` undoes it all. `scratch` is a private dir for this run.
 */
export async function openMounts(
  planned: readonly PlannedMount[],
  state: StageState,
  ctx: StepContext,
  scratch: string,
): Promise<OpenedMounts> {
  const opened: OpenedMount[] = [];
  const close = async () => {
    for (const mount of opened.reverse()) await mount.close();
  };
  try {
    for (const [index, mount] of planned.entries())
      opened.push(await openOne(mount, state, ctx, `${scratch}/${index}`));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    mounts: opened.flatMap((mount) => (mount.mount ? [mount.mount] : [])),
    env: opened.flatMap((mount) => mount.env ?? []),
    close,
  };
}

function openOne(mount: PlannedMount, state: StageState, ctx: StepContext, scratch: string): Promise<OpenedMount> {
  const { spec, target } = mount;
  switch (spec.type) {
    case 'tmpfs':
      return Promise.resolve({
        mount: { kind: 'tmpfs', target, readonly: spec.readonly, ...(spec.size ? { size: spec.size } : {}) },
        close: async () => undefined,
      });
    case 'secret':
      return secretSource(mount, scratch);
    case 'cache':
      return cacheMountSource(mount, ctx, platformOf(state));
    default:
      return mount.origin ? layersSource(mount, mount.origin, ctx) : contextBindSource(mount, ctx, scratch);
  }
}
