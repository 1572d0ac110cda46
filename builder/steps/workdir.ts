// WORKDIR /path/to/workdir
/**
 * WORKDIR sets the working directory and, as BuildKit does, creates it (owned by the current
 * USER) when the image lacks it; an existing directory adds no layer.
 */
import { posix } from 'node:path';
import type { LayerRef } from '../../core/ports.js';
import type { WorkdirInstruction } from '../instructions.js';
import type { StepContext } from '../session.js';
import { expansionEnv, platformOf, type StageState } from '../state.js';
import { expandOrThrow } from '../expand.js';
import { cachedStep } from '../step-cache.js';
import { withStep } from '../history.js';
import { kindAt } from '../rootfs.js';
import { resolveOwner } from '../users.js';
import { DockerfileError } from '../../core/errors.js';
import { LayerEntrySet, toLayerPath } from './layer-entries.js';
import { writeStepLayer } from './write-layer.js';
import { shownByInstruction } from '../step-inputs.js';

export async function workdirStep(
  state: StageState,
  instruction: WorkdirInstruction,
  ctx: StepContext,
): Promise<StageState> {
  const where = { file: ctx.plan.file, escapeToken: ctx.plan.escapeToken, range: instruction.range };
  const expanded = expandOrThrow(instruction.path, expansionEnv(state), where);
  const path = posix.resolve(state.config.config.WorkingDir || '/', expanded);
  const user = state.config.config.User ?? '';
  const next: StageState = {
    ...state,
    config: { ...state.config, config: { ...state.config.config, WorkingDir: path } },
  };
  const outcome = await cachedStep(ctx, state, {
    description: {
      instruction: instruction.original,
      inputs: {
        kind: shownByInstruction('workdir'),
        path: { key: path },
        user: { key: user, explain: { user } },
        platform: { key: platformOf(state) },
      },
    },
    execute: () =>
      path === '/' ? Promise.resolve(undefined) : makeWorkdir(state, ctx, path, user, instruction.range.startLine),
  });
  return withStep(next, `WORKDIR ${path}`, outcome);
}

async function makeWorkdir(
  state: StageState,
  ctx: StepContext,
  path: string,
  user: string,
  line: number,
): Promise<LayerRef | undefined> {
  const view = await ctx.deps.snapshotter.view(state.layers);
  if ((await kindAt(view, path)) === 'directory') return undefined;
  const ids =
    user === ''
      ? { uid: 0, gid: 0 }
      : await resolveOwner(view, user).catch((error: Error) => {
          throw new DockerfileError(error.message, ctx.plan.file, line);
        });
  const set = new LayerEntrySet();
  const mtime = Math.floor(Date.now() / 1000);
  const dir = { mode: 0o755, uid: ids.uid, gid: ids.gid, mtime };
  const layerPath = toLayerPath(await view.resolve(path));
  await set.addParents(view, layerPath, dir);
  set.set({ ...dir, path: layerPath, type: 'directory' });
  return writeStepLayer(ctx, state.layers, set.sorted());
}
