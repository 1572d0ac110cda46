/**
 * Bases and emulation for multi-platform tests, made here from Debian's packages (no registry):
 * `busybox-static` of another architecture (`dpkg --add-architecture`, `apt-get download`,
 * `dpkg-deb -x`: unpacked, never installed), as a busybox image whose config names that platform;
 * and qemu-user-static's binfmt_misc handlers, registered with the fix-binary flag.
 * Cached under `.tzbuild-test/` like the other bases.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { hostArchitecture } from '../../core/oci.js';
import { makeBusyboxRootfs, publish, sha256File, writeBusyboxArchive, writeLayerTar } from './busybox.js';
import { testCacheDir } from './paths.js';

/** An OCI platform's Debian architecture and qemu's name for it. */
const architectures: Record<string, { debian: string; qemu: string; variant?: string }> = {
  amd64: { debian: 'amd64', qemu: 'x86_64' },
  arm64: { debian: 'arm64', qemu: 'aarch64' },
  arm: { debian: 'armhf', qemu: 'arm', variant: 'v7' },
};

function archInfo(architecture: string): { debian: string; qemu: string; variant?: string } {
  const info = architectures[architecture];
  if (info === undefined) throw new Error(`no Debian architecture known for ${architecture}`);
  return info;
}

/** `/bin/busybox` of Debian's busybox-static for `architecture`, unpacked under the test cache. */
export async function foreignBusybox(architecture: string): Promise<string> {
  const { debian } = archInfo(architecture);
  const dir = path.join(testCacheDir, `busybox-static-${debian}`);
  const binary = path.join(dir, 'bin/busybox');
  if (existsSync(binary)) return binary;
  await publish(dir, async (tmp) => {
    await mkdir(tmp, { recursive: true });
    const foreign = (await execa('dpkg', ['--print-foreign-architectures'])).stdout.split('\n');
    if (debian !== (await execa('dpkg', ['--print-architecture'])).stdout.trim() && !foreign.includes(debian)) {
      await execa('dpkg', ['--add-architecture', debian]);
      await execa('apt-get', ['update', '-qq']);
    }
    const download = () => execa('apt-get', ['download', `busybox-static:${debian}`], { cwd: tmp, reject: false });
    if ((await download()).exitCode !== 0) {
      await execa('apt-get', ['update', '-qq']);
      await execa('apt-get', ['download', `busybox-static:${debian}`], { cwd: tmp });
    }
    const deb = (await readdir(tmp)).find((name) => name.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download busybox-static:${debian} left no .deb`);
    await execa('dpkg-deb', ['-x', path.join(tmp, deb), tmp]);
    return tmp;
  });
  return binary;
}

/**
 * A `docker save` archive of a busybox image for `architecture` (the host's own busybox for the
 * host), tagged `tag`, copied to `file`.
 */
export async function busyboxArchiveFor(architecture: string, file: string, tag: string): Promise<string> {
  const { debian, variant } = archInfo(architecture);
  const dir = path.join(testCacheDir, `busybox-image-${debian}`);
  await mkdir(dir, { recursive: true });
  const rootfs = path.join(dir, 'rootfs');
  const binary = architecture === hostArchitecture() ? undefined : await foreignBusybox(architecture);
  if (!existsSync(rootfs)) await publish(rootfs, (tmp) => makeBusyboxRootfs(tmp, binary));
  const layerFile = path.join(dir, 'layer.tar');
  if (!existsSync(layerFile)) await publish(layerFile, (tmp) => writeLayerTar(rootfs, tmp));
  const layer = {
    file: layerFile,
    diffId: `sha256:${await sha256File(layerFile)}`,
    size: (await stat(layerFile)).size,
  };
  const safeTag = tag.replace(/[^A-Za-z0-9_.-]/g, '_');
  const cached = path.join(dir, `image-${safeTag}.tar`);
  if (!existsSync(cached))
    await publish(cached, (tmp) =>
      writeBusyboxArchive(tmp, tag, layer, { architecture, ...(variant ? { variant } : {}) }),
    );
  await copyFile(cached, file);
  return file;
}

/**
 * Registers qemu-user-static's handler for `architecture` (installing the packages when missing,
 * mounting binfmt_misc when it is not) and checks it has the fix-binary flag: what a machine that
 * builds for foreign platforms needs, done by the test setup (a build only checks).
 */
export async function ensureEmulator(architecture: string): Promise<void> {
  const { qemu } = archInfo(architecture);
  const installed = async (pkg: string) =>
    (await execa('dpkg-query', ['-W', '-f=${Status}', pkg], { reject: false })).stdout.includes('install ok installed');
  const missing: string[] = [];
  for (const pkg of ['qemu-user-static', 'binfmt-support']) if (!(await installed(pkg))) missing.push(pkg);
  if (missing.length > 0) {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, reject: false });
    if ((await install()).exitCode !== 0) {
      await execa('apt-get', ['update', '-qq']);
      await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    }
  }
  const dir = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(path.join(dir, 'status'))) await execa('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir]);
  const handler = path.join(dir, `qemu-${qemu}`);
  if (!existsSync(handler) || !(await readFile(handler, 'utf8')).startsWith('enabled'))
    await execa('update-binfmts', ['--enable', `qemu-${qemu}`]);
  const flags = /^flags: (\S*)/m.exec(await readFile(handler, 'utf8'))?.[1] ?? '';
  if (!flags.includes('F')) throw new Error(`${handler} has no fix-binary flag (flags: ${flags})`);
}
