/**
 * Views of an image's filesystem, for the steps that must look inside one (COPY's destination
 * checks, --chown and USER name lookup, WORKDIR, COPY --from, RUN --mount sources). Paths are
 * resolved as the container would resolve them: symlinks, absolute ones included, never lead out
 * of the root. {@link layeredView} answers from the snapshots themselves (no mount: a mount and an
 * unmount cost two processes per step); {@link withRootfs} mounts a real read-only overlay for the
 * steps that walk a whole tree.
 */
import type { Stats } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { resolveScoped } from './context/resolve.js';
import { readFileFromLayers, resolveInLayers, topmostEntry } from '../layers/layered-read.js';
import { lowerdirOption } from '../sys/overlay-options.js';
import { inUserNamespace } from '../sys/userns.js';
import { runQuiet } from '../sys/processes.js';
import { join, posix } from 'node:path';

/** What a step can ask of an image's filesystem. */
export interface ImageView {
  /** `path` (absolute, in the image) with every symlink followed, as an absolute image path. */
  resolve(path: string): Promise<string>;
  /** Stats of what `path` names, symlinks followed; undefined when absent or deleted. */
  stat(path: string): Promise<Stats | undefined>;
  /** A file's text; '' when absent. */
  readText(path: string): Promise<string>;
}

/** The merged filesystem of `lowerdirs` (lowest first), read from the snapshots without a mount. */
export function layeredView(lowerdirs: readonly string[]): ImageView {
  const resolve = async (path: string) => `/${(await resolveInLayers(lowerdirs, path)).join('/')}`;
  return {
    resolve,
    stat: async (path) => (await topmostEntry(lowerdirs, (await resolve(path)).slice(1)))?.stats,
    readText: async (path) => (await readFileFromLayers(lowerdirs, path).catch(() => undefined))?.toString('utf8') ?? '',
  };
}

/** Kind of thing at an image path, following symlinks; undefined when absent. */
export async function kindAt(view: ImageView, path: string): Promise<'directory' | 'file' | 'other' | undefined> {
  // The root is a directory even in an image without layers (FROM scratch).
  if (posix.normalize(`/${path}`) === '/') return 'directory';
  const info = await view.stat(path);
  if (info === undefined) return undefined;
  return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
}

/** Runs `use` with a directory showing the merged filesystem of `lowerdirs` (lowest first). */
export async function withRootfs<T>(lowerdirs: string[], tmpRoot: string, use: (root: string) => Promise<T>): Promise<T> {
  const view = await openRootfs(lowerdirs, tmpRoot);
  try {
    return await use(view.root);
  } finally {
    await view.close();
  }
}

/** A directory showing a merged filesystem, until `close` (see {@link openRootfs}). */
export interface OpenedRootfs {
  root: string;
  close(): Promise<void>;
}

/**
 * A directory showing the merged filesystem of `lowerdirs` (lowest first): a read-only overlay
 * mount (a mount and an umount process), the snapshot itself when there is one, an empty dir
 * when there is none.
 */
export async function openRootfs(lowerdirs: string[], tmpRoot: string): Promise<OpenedRootfs> {
  if (lowerdirs.length === 1) return { root: lowerdirs[0]!, close: async () => undefined };
  if (lowerdirs.length === 0) {
    const empty = await mkdtemp(join(tmpRoot, 'empty-'));
    return { root: empty, close: () => rm(empty, { recursive: true, force: true }) };
  }
  // `<dir>/root` is the mountpoint, `<dir>/layers` holds lowerdir links if the chain needs them.
  const dir = await mkdtemp(join(tmpRoot, 'view-'));
  const mountpoint = join(dir, 'root');
  const removeDir = () => rm(dir, { recursive: true, force: true });
  let mounted;
  try {
    await mkdir(mountpoint);
    const lower = lowerdirOption(join(dir, 'layers'), lowerdirs);
    // In a user namespace (rootless) overlay reads its markers from user.* xattrs.
    const options = `ro,lowerdir=${lower.value}${inUserNamespace() ? ',userxattr' : ''}`;
    mounted = await runQuiet('mount', ['-t', 'overlay', 'overlay', '-o', options, mountpoint], { cwd: lower.from });
  } catch (error) {
    await removeDir();
    throw error;
  }
  if (mounted.exitCode !== 0) {
    await removeDir();
    throw new Error(`cannot mount a view of the image: ${mounted.stderr.trim() || mounted.error?.message || `mount exited with ${mounted.exitCode ?? mounted.signal}`}`);
  }
  return {
    root: mountpoint,
    close: async () => {
      await runQuiet('umount', [mountpoint]);
      await removeDir();
    },
  };
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
