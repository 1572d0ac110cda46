/**
 * `tzbuild commit`: the container's writable layer becomes a layer on top of its image (the same
 * deterministic writer and whiteout rules as RUN), with a config as `docker commit` makes it: the
 * container's Entrypoint, Cmd, Env, WorkingDir and User, then the `-c` instructions, and a history
 * entry carrying the message and the author.
 */
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { ContainerConfig, Digest, ImageConfig } from '../core/oci.js';
import type { Instruction } from '../builder/instructions.js';
import { parseDockerfile } from '../builder/parse/index.js';
import type { StageState } from '../builder/state.js';
import * as meta from '../builder/steps/metadata.js';
import { loadManifest } from '../store/images.js';
import type { ContainerRecord } from '../store/containers.js';
import { commandOf } from './create.js';
import type { ContainerDeps } from './deps.js';

export interface CommitOptions {
  message?: string;
  author?: string;
  /** `-c 'INSTRUCTION'`, applied in order. */
  changes: string[];
  /** Full names to tag the image with (none: untagged, known by its ID). */
  tags: string[];
}

/** Commits the container's layer; returns the new image ID. */
export async function commitContainer(
  deps: ContainerDeps,
  record: ContainerRecord,
  options: CommitOptions,
): Promise<{ imageId: Digest; layer: Digest }> {
  if (record.state.status === 'running')
    throw new UserError(`container ${record.name} is running: let it exit, then commit it`, 'CONTAINER_RUNNING');
  const image = await loadManifest(deps.store, record.image.manifest);
  // The changes first: a bad -c fails before a layer is written.
  const config = applyChanges(containerConfig(image.config, record), options.changes);
  const dirs = deps.containers.dirs(record.id);
  // Every commit adds a layer, an empty one too (as docker commit does): same upperdir, same digest.
  const layer = await deps.layers.write(deps.layers.fromUpperdir(dirs.upper));
  const created = new Date().toISOString();
  const next: ImageConfig = {
    ...image.config,
    created,
    ...(options.author ? { author: options.author } : {}),
    config,
    history: [
      ...image.config.history,
      {
        created,
        created_by: commandOf(record).join(' '),
        ...(options.author ? { author: options.author } : {}),
        ...(options.message ? { comment: options.message } : {}),
      },
    ],
  };
  const layers = [...image.layers, { diffId: layer.diffId, size: layer.size }];
  const { imageId } = await deps.committer.commit(next, layers, options.tags);
  return { imageId, layer: layer.diffId };
}

/** The image's config with what the container ran with. */
function containerConfig(base: ImageConfig, record: ContainerRecord): ContainerConfig {
  const { Entrypoint, Cmd, Env, WorkingDir, User } = record.config;
  const config: ContainerConfig = { ...base.config, Env, WorkingDir, User };
  delete config.Entrypoint;
  delete config.Cmd;
  return { ...config, ...(Entrypoint ? { Entrypoint } : {}), ...(Cmd ? { Cmd } : {}) };
}

/** Applies `-c` instructions as a Dockerfile's metadata steps would. */
function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  let state: StageState = {
    config: { architecture: '', os: '', config, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
    layers: [],
    args: new Map(),
    cmdSet: false,
    baseId: '',
  };
  for (const change of changes) {
    const ctx: meta.MetadataContext = { file: '-c', escapeToken: '\\', buildArgs: new Map(), globalArgs: new Map() };
    try {
      // The parser wants a stage to put an instruction in.
      const [, ...instructions] = parseDockerfile(`FROM scratch\n${change}`, '-c').instructions;
      for (const instruction of instructions) state = applyChange(state, instruction, ctx);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw new UserError(`-c '${change}': ${error.message}`, 'USAGE');
    }
  }
  return state.config.config;
}

type ChangeKind =
  | 'cmd'
  | 'entrypoint'
  | 'env'
  | 'expose'
  | 'label'
  | 'user'
  | 'volume'
  | 'stopsignal'
  | 'onbuild'
  | 'workdir';
type Apply<K extends ChangeKind> = (
  state: StageState,
  instruction: Extract<Instruction, { kind: K }>,
  ctx: meta.MetadataContext,
) => StageState;

/** What `docker commit --change` accepts, each applied as the Dockerfile instruction would be. */
const changes: { [K in ChangeKind]: Apply<K> } = {
  cmd: (state, instruction) => meta.applyCmd(state, instruction).state,
  entrypoint: (state, instruction) => meta.applyEntrypoint(state, instruction).state,
  env: (state, instruction, ctx) => meta.applyEnv(state, instruction, ctx).state,
  expose: (state, instruction, ctx) => meta.applyExpose(state, instruction, ctx).state,
  label: (state, instruction, ctx) => meta.applyLabel(state, instruction, ctx).state,
  user: (state, instruction, ctx) => meta.applyUser(state, instruction, ctx).state,
  volume: (state, instruction, ctx) => meta.applyVolume(state, instruction, ctx).state,
  stopsignal: (state, instruction, ctx) => meta.applyStopsignal(state, instruction, ctx).state,
  onbuild: (state, instruction) => meta.applyOnbuild(state, instruction).state,
  // No directory is made: only the config's WorkingDir changes (a commit adds no second layer).
  workdir: (state, instruction) => {
    const current = state.config.config.WorkingDir || '/';
    const WorkingDir = path.posix.resolve(current, instruction.path);
    return { ...state, config: { ...state.config, config: { ...state.config.config, WorkingDir } } };
  },
};

function applyChange(state: StageState, instruction: Instruction, ctx: meta.MetadataContext): StageState {
  if (!(instruction.kind in changes))
    throw new UserError(
      `${instruction.kind.toUpperCase()} is not a change commit can make (use CMD, ENTRYPOINT, ENV, EXPOSE, ` +
        'LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)',
      'USAGE',
    );
  const apply = changes[instruction.kind as ChangeKind] as Apply<ChangeKind>;
  return apply(state, instruction as Extract<Instruction, { kind: ChangeKind }>, ctx);
}
