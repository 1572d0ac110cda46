/**
 * Looking inside an image's filesystem through the Snapshotter's views (COPY's destination
 * checks, WORKDIR, COPY --from, RUN --mount sources): paths resolved as the container would
 * resolve them. Users and groups are in users.ts.
 */
import { resolveScoped } from './context/resolve.js';
import { join, posix } from 'node:path';
import type { ImageView, LayerRef, Snapshotter } from '../core/ports.js';

/** Kind of thing at an image path, following symlinks; undefined when absent. */
export async function kindAt(view: ImageView, path: string): Promise<'directory' | 'file' | 'other' | undefined> {
  // The root is a directory even in an image without layers (FROM scratch).
  if (posix.normalize(`/${path}`) === '/') return 'directory';
  const info = await view.stat(path);
  if (info === undefined) return undefined;
  return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
}

/** Runs `use` with a directory showing the merged filesystem of `layers`, then closes the view. */
export async function withMountedView<T>(
  snapshotter: Snapshotter,
  layers: LayerRef[],
  use: (root: string) => Promise<T>,
): Promise<T> {
  const view = await snapshotter.mount(layers);
  try {
    return await use(view.root);
  } finally {
    await view.close();
  }
}

/**
 * Resolves `path` (absolute, inside the image) to a host path under `root`, following symlinks
 * the way the kernel would inside a chroot. With `followLast` false the final component is not
 * followed (lstat semantics). Never returns a path outside `root`.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const rel = posix.normalize(`/${path}`).slice(1) || '.';
  const scoped = await resolveScoped(root, rel, followLast, path, 'rootfs');
  return scoped.rel === '.' ? root : join(root, scoped.rel);
}
