/**
 * Looking inside an image's filesystem through the Snapshotter's views (COPY's destination
 * checks, --chown and USER name lookup, WORKDIR, COPY --from, RUN --mount sources): paths
 * resolved as the container would resolve them, and users and groups from /etc/passwd and
 * /etc/group.
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

interface IdEntry {
  name: string;
  id: number;
  gid?: number;
  /** Home directory (passwd only). */
  home?: string;
}

async function readIdFile(view: ImageView, file: string): Promise<IdEntry[]> {
  const text = await view.readText(file);
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (fields.length < 3 || fields[0] === '') return [];
    const id = Number(fields[2]);
    const gid = Number(fields[3]);
    const home = fields[5] ? { home: fields[5] } : {};
    return Number.isInteger(id) ? [{ name: fields[0]!, id, ...(Number.isInteger(gid) ? { gid } : {}), ...home }] : [];
  });
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The passwd home directory; `/` for a user passwd does not list (runc's default). */
  home: string;
}

/**
 * Resolves `user[:group]` (names or numbers) through the image's /etc/passwd and /etc/group, as
 * Docker does for USER and --chown. A numeric user missing from passwd is fine; an unknown name
 * is an error.
 */
export async function resolveUser(view: ImageView, spec: string, chownRules = false): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = await readIdFile(view, '/etc/passwd');
  let uid: number;
  let gid: number;
  let home: string;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((candidate) => candidate.id === uid);
    gid = entry?.gid ?? 0;
    home = entry?.home ?? '/';
  } else {
    const entry = passwd.find((candidate) => candidate.name === userPart);
    if (entry === undefined) throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.id;
    gid = entry.gid ?? 0;
    home = entry.home ?? '/';
  }
  // Docker: "a username without groupname or a UID without GID will use the same numeric UID as the GID".
  if (chownRules && groupPart === undefined) gid = uid;
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = (await readIdFile(view, '/etc/group')).find((candidate) => candidate.name === groupPart);
      if (group === undefined) throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.id;
    }
  }
  return { uid, gid, home };
}
