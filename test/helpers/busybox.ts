/**
 * A tiny real base image for integration tests: Debian's static busybox plus its applet links and
 * a few users. Built once per busybox binary and cached under `.tzbuild-test/`, both as a rootfs
 * dir (usable directly as an overlay lowerdir) and as a `docker save` archive (`tzbuild load`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  lutimes,
  mkdir,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import tarFs from 'tar-fs';
import tarStream from 'tar-stream';
import { hostArchitecture } from '../../core/oci.js';
import { testCacheDir } from './paths.js';

/** Where Debian's busybox-static installs the binary. */
export const BUSYBOX_BINARY = '/bin/busybox';

/** The PATH the image's config sets (Docker's default). */
export const BUSYBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Fixed timestamp for every file, so the layer tar (and its digest) is reproducible. */
const FIXED_TIME = new Date('2024-01-01T00:00:00Z');

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
].join('\n');

const GROUP = ['root:x:0:', 'app:x:1000:', 'nogroup:x:65534:'].join('\n');

/** Installs busybox-static with apt-get when the binary is missing; returns its path. */
export async function ensureBusybox(): Promise<string> {
  if (existsSync(BUSYBOX_BINARY)) return BUSYBOX_BINARY;
  const install = () =>
    execa('apt-get', ['install', '-y', '--no-install-recommends', 'busybox-static'], { reject: false });
  if ((await install()).exitCode !== 0) {
    await execa('apt-get', ['update']);
    await execa('apt-get', ['install', '-y', '--no-install-recommends', 'busybox-static']);
  }
  return BUSYBOX_BINARY;
}

/**
 * Writes a busybox rootfs into `dir` (created if missing): `bin/busybox` with one symlink per
 * applet, /etc/passwd and /etc/group (root, app uid 1000, nobody), /tmp (1777), /root, /home/app.
 * Ownership needs root; as another user the files simply stay owned by that user.
 */
export async function makeBusyboxRootfs(dir: string, binary?: string): Promise<string> {
  const busybox = binary ?? (await ensureBusybox());
  // The host's busybox lists the applets: a foreign one (same Debian version) has the same set.
  const lister = await ensureBusybox();
  const applets = (await execa(lister, ['--list'])).stdout.split('\n').filter((name) => name && name !== 'busybox');
  for (const sub of ['bin', 'etc', 'tmp', 'root', 'home/app']) await mkdir(path.join(dir, sub), { recursive: true });
  await copyFile(busybox, path.join(dir, 'bin/busybox'));
  await chmod(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of applets) await symlink('busybox', path.join(dir, 'bin', applet));
  await writeFile(path.join(dir, 'etc/passwd'), `${PASSWD}\n`, { mode: 0o644 });
  await writeFile(path.join(dir, 'etc/group'), `${GROUP}\n`, { mode: 0o644 });
  await chmod(path.join(dir, 'tmp'), 0o1777);
  await chmod(path.join(dir, 'root'), 0o700);
  if (process.getuid?.() === 0) await chown(path.join(dir, 'home/app'), 1000, 1000);
  await clampTimes(dir);
  return dir;
}

/** The cached busybox rootfs (built on first use). Treat it as read-only: tests share it. */
export async function busyboxRootfs(): Promise<string> {
  const target = path.join(await cacheDir(), 'rootfs');
  if (existsSync(target)) return target;
  return publish(target, (tmp) => makeBusyboxRootfs(tmp));
}

/**
 * Writes a `docker save` archive of the busybox image to `file`, tagged `tag`: manifest.json,
 * the config JSON and one uncompressed layer. Cached per tag; returns `file`.
 */
export async function makeBusyboxDockerArchive(file: string, tag = 'busybox:latest'): Promise<string> {
  const safeTag = tag.replace(/[^A-Za-z0-9_.-]/g, '_');
  const cached = path.join(await cacheDir(), `image-${safeTag}.tar`);
  if (!existsSync(cached)) await publish(cached, (tmp) => writeDockerArchive(tmp, tag));
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await copyFile(cached, file);
  return file;
}

/** The cached layer tar of the rootfs, and its digest (= diff ID, it is uncompressed). */
export async function busyboxLayer(): Promise<{ file: string; diffId: `sha256:${string}`; size: number }> {
  const file = path.join(await cacheDir(), 'layer.tar');
  if (!existsSync(file)) await publish(file, async (tmp) => writeLayerTar(await busyboxRootfs(), tmp));
  const hex = await sha256File(file);
  return { file, diffId: `sha256:${hex}`, size: (await stat(file)).size };
}

async function writeDockerArchive(file: string, tag: string): Promise<string> {
  return writeBusyboxArchive(file, tag, await busyboxLayer(), { architecture: hostArchitecture() });
}

/** A `docker save` archive of one busybox layer, its config naming `platform`. */
export async function writeBusyboxArchive(
  file: string,
  tag: string,
  layer: { file: string; diffId: string; size: number },
  platform: { architecture: string; variant?: string },
): Promise<string> {
  const layerHex = layer.diffId.slice('sha256:'.length);
  const config = JSON.stringify(imageConfig(layer.diffId, platform));
  const configHex = createHash('sha256').update(config).digest('hex');
  const manifest = JSON.stringify([
    { Config: `${configHex}.json`, RepoTags: [tag], Layers: [`${layerHex}/layer.tar`] },
  ]);
  const [repo = tag, version = 'latest'] = splitTag(tag);
  const pack = tarStream.pack();
  const done = pipeline(pack, createWriteStream(file));
  const header = { mtime: FIXED_TIME, uid: 0, gid: 0 };
  pack.entry({ ...header, name: `${layerHex}/`, type: 'directory', mode: 0o755 });
  await addFileEntry(pack, { ...header, name: `${layerHex}/layer.tar`, mode: 0o644, size: layer.size }, layer.file);
  pack.entry({ ...header, name: `${configHex}.json`, mode: 0o644 }, config);
  pack.entry({ ...header, name: 'manifest.json', mode: 0o644 }, manifest);
  pack.entry({ ...header, name: 'repositories', mode: 0o644 }, JSON.stringify({ [repo]: { [version]: layerHex } }));
  pack.finalize();
  await done;
  return file;
}

function imageConfig(diffId: string, platform: { architecture: string; variant?: string }): object {
  const created = FIXED_TIME.toISOString();
  return {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: 'linux',
    created,
    config: { Env: [`PATH=${BUSYBOX_PATH}`], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'tzbuild test helper: busybox-static rootfs' }],
  };
}

/** `name:tag` → [name, tag]; a colon inside a registry host:port is not a tag separator. */
function splitTag(tag: string): [string, string] {
  const colon = tag.lastIndexOf(':');
  if (colon <= tag.lastIndexOf('/')) return [tag, 'latest'];
  return [tag.slice(0, colon), tag.slice(colon + 1)];
}

/** A deterministic tar of `dir`: sorted entries, ids and modes kept, no user/group names. */
export async function writeLayerTar(dir: string, file: string): Promise<string> {
  // `sort` and `umask` are tar-fs options its type definitions lack.
  const options = {
    // Listing the top level ourselves keeps a `.` entry for the root out of the layer.
    entries: (await readdir(dir)).sort(),
    sort: true,
    umask: 0,
    map: (header: tarFs.Headers) => ({ ...header, mtime: FIXED_TIME, uname: '', gname: '' }),
  } as tarFs.PackOptions;
  const pack = tarFs.pack(dir, options);
  await pipeline(pack, createWriteStream(file));
  return file;
}

async function addFileEntry(
  pack: tarStream.Pack,
  header: Partial<tarStream.Header> & { name: string },
  source: string,
): Promise<void> {
  const entry = pack.entry(header);
  await pipeline(createReadStream(source), entry);
}

/** `.tzbuild-test/busybox-<hash of the binary>`: a new busybox gives a fresh cache. */
async function cacheDir(): Promise<string> {
  const hex = await sha256File(await ensureBusybox());
  const dir = path.join(testCacheDir, `busybox-${hex.slice(0, 12)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Builds into a temp sibling and renames it into place, so test files running in parallel never
 * see a half-built fixture; whoever renames first wins.
 */
export async function publish(target: string, build: (tmp: string) => Promise<string>): Promise<string> {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await build(tmp);
    await rename(tmp, target).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(target)) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}

async function clampTimes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await clampTimes(full);
    await lutimes(full, FIXED_TIME, FIXED_TIME);
  }
  await lutimes(dir, FIXED_TIME, FIXED_TIME);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
