/**
 * Writing a layer a step synthesises (COPY, ADD, WORKDIR). When a later step reads the result, the
 * layer is unpacked in the same pass into a scratch dir that becomes its snapshot, as a RUN's
 * upperdir does: the next RUN mounts it at once instead of unpacking the tar just written (for a
 * big COPY that unpack used to be most of the RUN's time).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerEntry, LayerRef } from '../../core/ports.js';
import { removeTree } from '../../sys/remove-tree.js';
import type { StepContext } from '../session.js';
import { iterate } from './layer-entries.js';

/**
 * Writes `entries` as the layer on top of `parents`; its snapshot too when a later step needs it,
 * sharing the files that stay the same with the snapshot of `earlier` (the layer this step added
 * last time over the same `parents`) when that snapshot is there.
 */
export async function writeStepLayer(
  ctx: StepContext,
  parents: LayerRef[],
  entries: LayerEntry[],
  earlier?: LayerRef,
): Promise<LayerRef> {
  const { deps } = ctx;
  const options = ctx.options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.options.sourceDateEpoch };
  if (!ctx.snapshotNeeded || deps.snapshotter.adopt === undefined) {
    const layer = await deps.layers.write(iterate(entries), options);
    return { diffId: layer.diffId, size: layer.size };
  }
  // In the store's scratch dir: on the snapshots' filesystem (adopt renames it) and removed by
  // recovery if the build dies.
  const dir = mkdtempSync(join(deps.tmpDir, 'snapshot-'));
  let adopted = false;
  try {
    const sameFilesFrom = earlier === undefined ? undefined : await deps.snapshotter.existing?.([...parents, earlier]);
    const layer = await deps.layers.write(iterate(entries), {
      ...options,
      unpackInto: dir,
      ...(sameFilesFrom === undefined ? {} : { sameFilesFrom }),
    });
    const ref = { diffId: layer.diffId, size: layer.size };
    // The tar's own (clamped) times are in the dir, so unlike a RUN's upperdir it is kept under
    // SOURCE_DATE_EPOCH too. False: the snapshot exists already (the same layer built before).
    adopted = await deps.snapshotter.adopt([...parents, ref], dir, 'unpacked', layer.files);
    return ref;
  } finally {
    if (!adopted) ctx.tidy(removeTree(dir));
  }
}
