/**
 * The filesystem a container sees, read from a tar of it (`docker export` on one side,
 * `tzbuild build --output type=tar` on the other), as one comparable record per path.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';

/** What is compared for every path: never mtimes (a build's clock differs on each side). */
export interface FsEntry {
  type: string;
  /** Permission bits, setuid/setgid/sticky included, in octal. */
  mode: string;
  uid: number;
  gid: number;
  /** Regular files only. */
  size?: number;
  /** sha256 of a regular file's content. */
  sha256?: string;
  /** Symlink target, or for a hardlink the path it shares its inode with. */
  link?: string;
}

/**
 * What a container runtime adds to every container, identically on both sides, and what a
 * runtime mounts over: not part of the image.
 */
const RUNTIME_PATHS = ['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab'];
const RUNTIME_TREES = ['proc', 'sys', 'dev'];

export function isRuntimePath(name: string): boolean {
  return RUNTIME_PATHS.includes(name) || RUNTIME_TREES.some((tree) => name === tree || name.startsWith(`${tree}/`));
}

/** `./a/b/` → `a/b`; the root itself is ''. */
export function normalName(name: string): string {
  return name
    .replace(/^\.?\/+/, '')
    .replace(/^\.$/, '')
    .replace(/\/+$/, '');
}

/** Reads `file` (a tar of a whole filesystem) into path → entry, runtime paths left out. */
export async function readFilesystemTar(file: string): Promise<Map<string, FsEntry>> {
  const entries = new Map<string, FsEntry>();
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const name = normalName(header.name);
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (chunk: unknown) => {
      if (!Buffer.isBuffer(chunk)) return;
      hash.update(chunk);
      size += chunk.length;
    });
    stream.on('end', () => {
      if (name !== '' && !isRuntimePath(name)) {
        const entry: FsEntry = {
          type: header.type ?? 'file',
          mode: ((header.mode ?? 0) & 0o7777).toString(8).padStart(4, '0'),
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
        };
        if (entry.type === 'file') Object.assign(entry, { size, sha256: hash.digest('hex') });
        if (entry.type === 'symlink') entry.link = header.linkname ?? '';
        if (entry.type === 'link') entry.link = normalName(header.linkname ?? '');
        entries.set(name, entry);
      }
      next();
    });
    stream.resume();
  });
  await pipeline(createReadStream(file), extract);
  return resolveHardlinks(entries);
}

/**
 * A hardlink entry names whichever path of its inode the tar writer met first, which depends on
 * walk order, not on the image. Give each member of an inode group the file's own record plus
 * the sorted list of the other paths, so both sides compare the same thing.
 */
function resolveHardlinks(entries: Map<string, FsEntry>): Map<string, FsEntry> {
  const groups = new Map<string, string[]>();
  for (const [name, entry] of entries) {
    if (entry.type !== 'link' || entry.link === undefined) continue;
    const members = groups.get(entry.link) ?? [entry.link];
    members.push(name);
    groups.set(entry.link, members);
  }
  for (const [first, members] of groups) {
    const file = entries.get(first);
    if (file === undefined) continue;
    for (const member of members) {
      const others = members
        .filter((other) => other !== member)
        .sort()
        .join(',');
      entries.set(member, { ...file, link: `hardlinked with ${others}` });
    }
  }
  return entries;
}

/** One line per path that differs: `fs PATH: docker {…} tzbuild {…}` (or "missing"). */
export function compareFilesystems(docker: Map<string, FsEntry>, tzbuild: Map<string, FsEntry>): string[] {
  const names = [...new Set([...docker.keys(), ...tzbuild.keys()])].sort();
  const differences: string[] = [];
  for (const name of names) {
    const left = docker.get(name);
    const right = tzbuild.get(name);
    if (left === undefined) differences.push(`fs /${name}: only in tzbuild ${describe(right)}`);
    else if (right === undefined) differences.push(`fs /${name}: only in docker ${describe(left)}`);
    else {
      const fields = (Object.keys({ ...left, ...right }) as (keyof FsEntry)[]).filter(
        (key) => left[key] !== right[key],
      );
      if (fields.length > 0) {
        const shown = fields.map((key) => `${key} docker=${String(left[key])} tzbuild=${String(right[key])}`);
        differences.push(`fs /${name}: ${shown.join(', ')}`);
      }
    }
  }
  return differences;
}

function describe(entry: FsEntry | undefined): string {
  if (entry === undefined) return '';
  return `${entry.type} ${entry.mode} ${entry.uid}:${entry.gid}${entry.link === undefined ? '' : ` -> ${entry.link}`}`;
}
