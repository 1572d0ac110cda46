/**
 * Creating one filesystem node from a tar header at an already-resolved host path, and setting
 * its metadata without ever following a symlink: files are opened O_NOFOLLOW|O_EXCL and changed
 * through the fd; other nodes are changed by path only right after we created them ourselves;
 * ownership and times use lchown/lutimes; xattrs use l*xattr (@napi-rs/xattr does not follow).
 *
 * Device nodes and whiteouts: Node has no mknod, so device-nodes.ts makes them through one helper
 * process per layer. Kernels ≥ 6.7 also accept xattr whiteouts, but 0/0 char devices work on
 * every overlayfs, which is why we keep them.
 *
 * The calls are synchronous: a node takes five to eight tiny metadata calls, each far cheaper
 * made directly than as a promise (a thread-pool round trip; docs/performance.md).
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { xattr } from '../sys/xattr.js';
import type { DeviceMaker } from '../sys/device-nodes.js';
import type { TarHeader } from './tar-format.js';
import { inUserNamespace } from '../sys/userns.js';

/** xattrs a layer may not set: overlay's own markers would let a tar steer overlayfs lookups. */
const refusedXattrPrefixes = ['trusted.overlay.', 'user.overlay.'];

const canChown = process.getuid?.() === 0;

/** Creates the node `header` describes at `target` (which must not exist) with its metadata. */
export async function createNode(
  target: string,
  header: TarHeader,
  body: AsyncIterable<Buffer>,
  devices: DeviceMaker,
): Promise<void> {
  switch (header.type) {
    case 'directory':
      mkdirSync(target, { mode: 0o700 });
      setMetadata(target, header);
      return;
    case 'file':
      await writeBody(openFileNoFollow(target, header), body);
      return;
    case 'symlink':
      symlinkSync(header.linkname, target);
      setOwner(target, header);
      setXattrs(target, header);
      lutimesSync(target, header.mtime, header.mtime);
      return;
    case 'char':
    case 'block':
    case 'fifo':
      await devices.make(target, header.type, header.mode, header.devmajor, header.devminor);
      setMetadata(target, header);
      return;
    case 'hardlink':
      throw new Error('hardlinks are made by the caller, which resolves their target');
  }
}

/** Updates an existing directory's metadata (a dir entry over a dir keeps the dir's contents). */
export function setMetadata(target: string, header: TarHeader): void {
  setOwner(target, header);
  // chown clears setuid/setgid, so the mode goes after it. The node is ours and not a symlink.
  chmodSync(target, header.mode & 0o7777);
  setXattrs(target, header);
  lutimesSync(target, header.mtime, header.mtime);
}

/** A file being created: its body is pushed in, then `end` sets its metadata and closes it. */
export interface FileBodySink {
  write(chunk: Buffer): void;
  end(): void;
  /** Closes the file after a failure (the caller discards the whole tree). */
  abandon(): void;
}

/** Pushes `body` through `file` and ends it; a failed read closes it. */
export async function writeBody(file: FileBodySink, body: AsyncIterable<Buffer>): Promise<void> {
  try {
    for await (const chunk of body) file.write(chunk);
  } catch (err) {
    file.abandon();
    throw err;
  }
  file.end();
}

/**
 * Creates the file `header` describes at `target` (which must not exist), without following a
 * symlink there; the body is pushed through the returned sink, so a writer that holds the bytes
 * already (the layer writer) needs no stream.
 */
export function openFileNoFollow(target: string, header: TarHeader): FileBodySink {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(target, flags, 0o600);
  let open = true;
  return {
    write: (chunk) => writeAll(fd, chunk),
    end: () => {
      try {
        if (canChown) ownedBy(header, () => fchownSync(fd, header.uid, header.gid));
        fchmodSync(fd, header.mode & 0o7777);
        // Through the fd: no second path lookup. xattrs do not change the mtime.
        futimesSync(fd, header.mtime, header.mtime);
      } finally {
        open = false;
        closeSync(fd);
      }
      setXattrs(target, header);
    },
    abandon: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk, offset);
}

function setOwner(target: string, header: TarHeader): void {
  if (canChown) ownedBy(header, () => lchownSync(target, header.uid, header.gid));
}

/** Runs a chown, explaining an id the user namespace cannot map. */
function ownedBy(header: TarHeader, chown: () => void): void {
  try {
    chown();
  } catch (error) {
    explainUnmapped(error, header);
  }
}

/**
 * EINVAL from chown means the id does not exist in this user namespace: rootless without
 * subordinate ids for it. Said plainly, with the fix.
 */
function explainUnmapped(error: unknown, header: TarHeader): never {
  if ((error as NodeJS.ErrnoException).code === 'EINVAL' && inUserNamespace()) {
    throw new Error(
      `owner ${header.uid}:${header.gid} does not exist in this rootless user namespace (give the user subordinate ` +
        `ids in /etc/subuid and /etc/subgid: usermod --add-subuids/--add-subgids)`,
    );
  }
  throw error;
}

function setXattrs(target: string, header: TarHeader): void {
  for (const [name, value] of keptXattrs(header)) xattr().setAttributeSync(target, name, value);
}

/** The xattrs of `header` that unpacking sets (all but overlay's markers). */
export function keptXattrs(header: TarHeader): [string, Buffer][] {
  return Object.entries(header.xattrs).filter(
    ([name]) => !refusedXattrPrefixes.some((prefix) => name.startsWith(prefix)),
  );
}
