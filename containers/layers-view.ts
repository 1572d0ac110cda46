/**
 * The overlay directories behind an image or a container, named as Docker's `GraphDriver`
 * section names them (overlay2: LowerDir colon-separated, top first), and the container's merged
 * view mounted on the host for `tzbuild mount`.
 */
import { UserError } from '../core/errors.js';
import type { ResolvedImage } from '../core/ports.js';
import path from 'node:path';
import { loadManifest } from '../store/images.js';
import { storeLayout } from '../store/layout.js';
import { chainIds, snapshotComplete } from '../store/snapshotter.js';
import type { ContainerRecord } from '../store/containers.js';
import { mountsUnder } from '../sys/mounts.js';
import { lowerdirOption, overlayFeatureOptions } from '../sys/overlay-options.js';
import { runQuiet } from '../sys/processes.js';
import type { ContainerDeps } from './deps.js';

export interface GraphDriver {
  Name: 'overlay2';
  Data: Record<string, string>;
}

/**
 * An image's snapshots: the top one as UpperDir, the rest below. Only once all are unpacked (by a
 * build step or a container over the image); inspecting never unpacks, so before that the section
 * names nothing.
 */
export async function imageGraphDriver(deps: Pick<ContainerDeps, 'root'>, image: ResolvedImage): Promise<GraphDriver> {
  const layout = storeLayout(deps.root);
  const hexes = chainIds(image.layers.map((layer) => layer.diffId)).map((chainId) => chainId.slice(7));
  const unpacked = await Promise.all(hexes.map((hex) => snapshotComplete(layout, hex)));
  if (unpacked.includes(false)) return { Name: 'overlay2', Data: {} };
  const [upper, ...lower] = hexes.map((hex) => path.join(layout.snapshots, hex)).reverse();
  return {
    Name: 'overlay2',
    Data: { ...(lower.length > 0 ? { LowerDir: lower.join(':') } : {}), ...(upper ? { UpperDir: upper } : {}) },
  };
}

/** A container's: the image's snapshots as LowerDir, its own upper, work and merged dirs. */
export async function containerGraphDriver(deps: ContainerDeps, record: ContainerRecord): Promise<GraphDriver> {
  const lowerdirs = await containerLowerdirs(deps, record);
  const dirs = deps.containers.dirs(record.id);
  return {
    Name: 'overlay2',
    Data: {
      ...(lowerdirs.length > 0 ? { LowerDir: [...lowerdirs].reverse().join(':') } : {}),
      MergedDir: dirs.merged,
      UpperDir: dirs.upper,
      WorkDir: dirs.work,
    },
  };
}

/** The image's snapshot dirs, lowest first (unpacked when missing). */
export async function containerLowerdirs(deps: ContainerDeps, record: ContainerRecord): Promise<string[]> {
  const image = await loadManifest(deps.store, record.image.manifest);
  return deps.snapshotter.prepare(image.layers);
}

/** Whether `tzbuild mount` has the container's merged view mounted. */
export async function isMounted(deps: ContainerDeps, record: ContainerRecord): Promise<boolean> {
  return (await mountsUnder(deps.containers.dirs(record.id).merged)).length > 0;
}

/**
 * Mounts the container's filesystem read-write at its MergedDir, on the host (it stays until
 * `umount`); returns the path. Refused while the container runs: overlay allows one mount per
 * upperdir.
 */
export async function mountContainer(deps: ContainerDeps, record: ContainerRecord): Promise<string> {
  const dirs = deps.containers.dirs(record.id);
  if (await isMounted(deps, record)) return dirs.merged;
  if (record.state.status === 'running')
    throw new UserError(`container ${record.name} is running: it can be mounted once it exits`, 'CONTAINER_RUNNING');
  const lowerdirs = await containerLowerdirs(deps, record);
  if (lowerdirs.length === 0)
    throw new UserError(`container ${record.name} has an empty image: nothing to mount under its layer`, 'USAGE');
  // Lowerdir links (when the chain needs them) live beside the container's dirs, not in tmp/.
  const lower = lowerdirOption(`${dirs.dir}/layers`, lowerdirs);
  const options = `lowerdir=${lower.value},upperdir=${dirs.upper},workdir=${dirs.work},${overlayFeatureOptions()}`;
  const result = await runQuiet('mount', ['-t', 'overlay', 'overlay', '-o', options, dirs.merged], { cwd: lower.from });
  if (result.exitCode !== 0)
    throw new UserError(
      `cannot mount container ${record.name}: ${result.stderr.trim() || result.error?.message}`,
      'MOUNT_FAILED',
    );
  return dirs.merged;
}

/** Undoes {@link mountContainer}; false when it was not mounted. */
export async function unmountContainer(deps: ContainerDeps, record: ContainerRecord): Promise<boolean> {
  const dirs = deps.containers.dirs(record.id);
  if (!(await isMounted(deps, record))) return false;
  const result = await runQuiet('umount', [dirs.merged]);
  if (result.exitCode !== 0)
    throw new UserError(`cannot unmount container ${record.name}: ${result.stderr.trim()}`, 'MOUNT_FAILED');
  return true;
}
