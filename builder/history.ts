/** Adding a step's result to a stage state: its layer (if any) and its history entry. */
import { chainIds } from '../store/snapshotter.js';
import type { LayerRef } from '../core/ports.js';
import type { StepOutcome } from './step-cache.js';
import type { StageState } from './state.js';

/**
 * The cache parent of the next step: the chain ID of the layers so far (OCI ChainID), so a step
 * that re-runs but yields the same layer does not invalidate what follows.
 */
export function chainParent(state: StageState): string {
  return chainIdOf(state.layers) ?? 'scratch';
}

/** OCI ChainID of a layer list (undefined for no layers). */
export function chainIdOf(layers: LayerRef[]): string | undefined {
  return chainIds(layers.map((layer) => layer.diffId)).at(-1);
}

/** Appends the step's history entry, and its layer when it made one. */
export function withStep(
  state: StageState,
  createdBy: string,
  outcome: Pick<StepOutcome, 'layer' | 'created'>,
): StageState {
  const { config } = state;
  const layer = outcome.layer;
  return {
    ...state,
    layers: layer ? [...state.layers, layer] : state.layers,
    config: {
      ...config,
      created: outcome.created,
      rootfs: { type: 'layers', diff_ids: layer ? [...config.rootfs.diff_ids, layer.diffId] : config.rootfs.diff_ids },
      history: [
        ...config.history,
        {
          created: outcome.created,
          created_by: createdBy,
          comment: 'buildkit.dockerfile.v0',
          ...(layer ? {} : { empty_layer: true }),
        },
      ],
    },
  };
}
