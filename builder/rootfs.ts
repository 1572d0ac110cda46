/**
 * Read-only views of an image's filesystem, for the steps that must look inside one (COPY's
 * destination checks, COPY --from, --chown name lookup, USER resolution). A view of several
 * snapshots is a read-only overlay mount; paths inside it are resolved as the container would
 * resolve them: symlinks, absolute ones included, never lead out of the root.
 */
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { resolveScoped } from './context/resolve.js';
import { readFileFromLayers } from '../image/layered-read.js';
import { inUserNamespace } from '../userns.js';
import { join, posix } from 'node:path';

/** Runs `use` with a directory showing the merged filesystem of `lowerdirs` (lowest first). */
export async function withRootfs<T>(lowerdirs: string[], tmpRoot: string, use: (root: string) => Promise<T>): Promise<T> {
  if (lowerdirs.length <= 1) {
    // One snapshot is its own view; none is an empty root.
    if (lowerdirs.length === 1) return use(lowerdirs[0]!);
    const empty = await mkdtemp(join(tmpRoot, 'empty-'));
    try {
      return await use(empty);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  }
  const mountpoint = await mkdtemp(join(tmpRoot, 'view-'));
  const lower = [...lowerdirs].reverse().join(':');
  // In a user namespace (rootless) overlay reads its markers from user.* xattrs.
  const options = `ro,lowerdir=${lower}${inUserNamespace() ? ',userxattr' : ''}`;
  await (await loadExeca())('mount', ['-t', 'overlay', 'overlay', '-o', options, mountpoint]);
  try {
    return await use(mountpoint);
  } finally {
    await (await loadExeca())('umount', [mountpoint], { reject: false });
    await rm(mountpoint, { recursive: true, force: true });
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

/** Kind of thing at an image path, following symlinks; undefined when absent. */
export async function statInRoot(root: string, path: string): Promise<'directory' | 'file' | 'other' | undefined> {
  const hostPath = await resolveInRoot(root, path);
  const info = await lstat(hostPath).catch(() => undefined);
  if (info === undefined) return undefined;
  // A 0/0 char device is an overlay whiteout: the path was deleted.
  if (info.isCharacterDevice() && info.rdev === 0) return undefined;
  return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
}

interface IdEntry {
  name: string;
  id: number;
  gid?: number;
  /** Home directory (passwd only). */
  home?: string;
}

/** Reads an image file as text ('' when absent): from a view's root dir, or from the snapshots. */
type ImageFileReader = (file: string) => Promise<string>;

function readerOfRoot(root: string): ImageFileReader {
  return async (file) => readFile(await resolveInRoot(root, file), 'utf8').catch(() => '');
}

async function readIdFile(read: ImageFileReader, file: string): Promise<IdEntry[]> {
  const text = await read(file);
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
export async function resolveUser(root: string, spec: string, chownRules = false): Promise<ResolvedUser> {
  return resolveUserWith(readerOfRoot(root), spec, chownRules);
}

/** {@link resolveUser} reading /etc/passwd and /etc/group straight from the snapshots (no view to mount). */
export async function resolveUserInLayers(lowerdirs: readonly string[], spec: string, chownRules = false): Promise<ResolvedUser> {
  const read: ImageFileReader = async (file) => (await readFileFromLayers(lowerdirs, file).catch(() => undefined))?.toString('utf8') ?? '';
  return resolveUserWith(read, spec, chownRules);
}

async function resolveUserWith(read: ImageFileReader, spec: string, chownRules: boolean): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = await readIdFile(read, '/etc/passwd');
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
      const group = (await readIdFile(read, '/etc/group')).find((candidate) => candidate.name === groupPart);
      if (group === undefined) throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.id;
    }
  }
  return { uid, gid, home };
}

/** execa costs ~150 ms to load: only pay for it when a process is actually spawned. */
async function loadExeca() {
  return (await import('execa')).execa;
}
