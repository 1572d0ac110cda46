/**
 * Comparing a snapshot dir with what unpacking its layer gives: every path with its type, mode,
 * owner, content or link target, xattrs, hardlink groups and (optionally) mtimes.
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { xattr } from '../../sys/xattr.js';
import { applyLayer } from '../../layers/layer-apply.js';
import { blobPath, tempDir } from './build-fixture.js';

/**
 * Every path under `root` described. The root's own metadata is the snapshotter's choice (0755
 * root), not the layer's. Hardlinks show as the first path of their inode; with `times`, each
 * path (the root's aside) carries its mtime in nanoseconds.
 */
export async function describeTree(root: string, options: { times?: boolean } = {}): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const inodes = new Map<bigint, string>();
  const visit = async (rel: string): Promise<void> => {
    const full = path.join(root, rel);
    const info = await lstat(full, { bigint: true });
    const attrs = Object.fromEntries(
      xattr()
        .listAttributesSync(full)
        .sort()
        .map((name) => [name, xattr().getAttributeSync(full, name)?.toString('hex')]),
    );
    const kind = info.isDirectory()
      ? 'dir'
      : info.isSymbolicLink()
        ? `link ${await readlink(full)}`
        : info.isFile()
          ? `file ${(await readFile(full)).toString('hex')}`
          : `dev ${info.rdev}`;
    const first = info.isDirectory() ? undefined : inodes.get(info.ino);
    if (!info.isDirectory() && first === undefined) inodes.set(info.ino, rel);
    out[rel || '.'] =
      rel === ''
        ? { kind, attrs }
        : {
            kind,
            mode: Number(info.mode),
            uid: Number(info.uid),
            gid: Number(info.gid),
            attrs,
            ...(first === undefined ? {} : { sameInodeAs: first }),
            ...(options.times === true ? { mtimeNs: info.mtimeNs.toString() } : {}),
          };
    if (info.isDirectory()) for (const name of (await readdir(full)).sort()) await visit(path.join(rel, name));
  };
  await visit('');
  return out;
}

/** The layer `diffId` of `store` unpacked (overlay format, as the snapshotter unpacks) into a new dir. */
export async function unpackedLayer(store: string, diffId: string): Promise<string> {
  const dir = path.join(await tempDir('unpacked'), 'u');
  await mkdir(dir);
  await applyLayer(createReadStream(blobPath(store, diffId)), dir, { format: 'overlay' });
  return dir;
}

/** The snapshot dir of a chain ID. */
export function snapshotDir(store: string, chainId: string): string {
  return path.join(store, 'snapshots', chainId.replace(/^sha256:/, ''));
}
