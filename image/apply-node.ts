/**
 * Creating one filesystem node from a tar header at an already-resolved host path, and setting
 * its metadata without ever following a symlink: files are opened O_NOFOLLOW|O_EXCL and changed
 * through the fd; other nodes are changed by path only right after we created them ourselves;
 * ownership and times use lchown/lutimes; xattrs use l*xattr (@napi-rs/xattr does not follow).
 *
 * Device nodes and whiteouts: Node has no mknod, so device-nodes.ts makes them through one helper
 * process per layer. Kernels ≥ 6.7 also accept xattr whiteouts, but 0/0 char devices work on
 * every overlayfs, which is why we keep them.
 */
import { constants } from 'node:fs';
import { chmod, lchown, lutimes, mkdir, open, symlink } from 'node:fs/promises';
import { xattr } from './xattr.js';
import type { DeviceMaker } from './device-nodes.js';
import type { TarHeader } from './tar-format.js';
import { inUserNamespace } from '../userns.js';

/** xattrs a layer may not set: overlay's own markers would let a tar steer overlayfs lookups. */
const refusedXattrPrefixes = ['trusted.overlay.', 'user.overlay.'];

const canChown = process.getuid?.() === 0;

/** Creates the node `header` describes at `target` (which must not exist) with its metadata. */
export async function createNode(target: string, header: TarHeader, body: AsyncIterable<Buffer>, devices: DeviceMaker): Promise<void> {
  switch (header.type) {
    case 'directory':
      await mkdir(target, { mode: 0o700 });
      await setMetadata(target, header);
      return;
    case 'file':
      await writeFileNoFollow(target, header, body);
      return;
    case 'symlink':
      await symlink(header.linkname, target);
      await setOwner(target, header);
      await setXattrs(target, header);
      await lutimes(target, header.mtime, header.mtime);
      return;
    case 'char':
    case 'block':
    case 'fifo':
      await devices.make(target, header.type, header.mode, header.devmajor, header.devminor);
      await setMetadata(target, header);
      return;
    case 'hardlink':
      throw new Error('hardlinks are made by the caller, which resolves their target');
  }
}

/** Updates an existing directory's metadata (a dir entry over a dir keeps the dir's contents). */
export async function setMetadata(target: string, header: TarHeader): Promise<void> {
  await setOwner(target, header);
  // chown clears setuid/setgid, so the mode goes after it. The node is ours and not a symlink.
  await chmod(target, header.mode & 0o7777);
  await setXattrs(target, header);
  await lutimes(target, header.mtime, header.mtime);
}

async function writeFileNoFollow(target: string, header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const handle = await open(target, flags, 0o600);
  try {
    for await (const chunk of body) await handle.write(chunk);
    if (canChown) await handle.chown(header.uid, header.gid).catch((error: unknown) => explainUnmapped(error, header));
    await handle.chmod(header.mode & 0o7777);
  } finally {
    await handle.close();
  }
  await setXattrs(target, header);
  await lutimes(target, header.mtime, header.mtime);
}

async function setOwner(target: string, header: TarHeader): Promise<void> {
  if (canChown) await lchown(target, header.uid, header.gid).catch((error: unknown) => explainUnmapped(error, header));
}

/**
 * EINVAL from chown means the id does not exist in this user namespace: rootless without
 * subordinate ids for it. Said plainly, with the fix.
 */
function explainUnmapped(error: unknown, header: TarHeader): never {
  if ((error as NodeJS.ErrnoException).code === 'EINVAL' && inUserNamespace()) {
    throw new Error(`owner ${header.uid}:${header.gid} does not exist in this rootless user namespace (give the user subordinate ids in /etc/subuid and /etc/subgid: usermod --add-subuids/--add-subgids)`);
  }
  throw error;
}

async function setXattrs(target: string, header: TarHeader): Promise<void> {
  for (const [name, value] of Object.entries(header.xattrs)) {
    if (refusedXattrPrefixes.some((prefix) => name.startsWith(prefix))) continue;
    await xattr().setAttribute(target, name, value);
  }
}
