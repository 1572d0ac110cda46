/**
 * Real base images for the real-world suites, made here from Debian's packages (there is no
 * Docker Hub): `debian:bookworm` is a `debootstrap --variant=minbase bookworm` root (plus
 * ca-certificates), and `node:20` is that root plus this machine's Node 20 and npm, a `node`
 * user (uid 1000) as the official image has, and `NODE_EXTRA_CA_CERTS` pointing at the system
 * bundle. This machine's TLS traffic is intercepted by a CA in its system store, so both bases
 * carry the CAs of /usr/local/share/ca-certificates, as a company's base images do; without them
 * `npm ci` inside a build could not reach the npm registry.
 *
 * Each image is an OCI layout cached under `.tzbuild-test/` (debootstrap takes minutes); tests
 * push it with skopeo to their own registry, which they then configure as the Docker Hub mirror.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { hostArchitecture } from '../../core/oci.js';
import { publish, sha256File, writeLayerTar } from './busybox.js';
import { testCacheDir } from './paths.js';

/** Docker's default PATH, as the official images set it. */
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CREATED = '2024-01-01T00:00:00Z';
const MIRROR = 'http://deb.debian.org/debian';
const hostCaDir = '/usr/local/share/ca-certificates';

/** A layer of a base: its uncompressed tar and digest. */
interface Layer {
  file: string;
  digest: string;
  size: number;
}

/** The real bases as OCI layouts, by the name they are pushed under (`library/debian:bookworm`). */
export async function realBaseLayouts(): Promise<{ debian: string; node: string }> {
  const dir = path.join(testCacheDir, `real-bases-${await cacheKey()}`);
  await mkdir(dir, { recursive: true });
  const debianRoot = path.join(dir, 'debian-rootfs');
  if (!existsSync(debianRoot)) await publish(debianRoot, makeDebianRootfs);
  const debianLayer = await cachedLayer(path.join(dir, 'debian-layer.tar'), debianRoot);
  const nodeRoot = path.join(dir, 'node-rootfs');
  if (!existsSync(nodeRoot)) await publish(nodeRoot, (tmp) => makeNodeLayerRoot(tmp, debianRoot));
  const nodeLayer = await cachedLayer(path.join(dir, 'node-layer.tar'), nodeRoot);
  const debian = path.join(dir, 'debian-layout');
  if (!existsSync(debian)) {
    await publish(debian, (tmp) => writeLayout(tmp, [debianLayer], { Env: [`PATH=${PATH}`], Cmd: ['bash'] }));
  }
  const node = path.join(dir, 'node-layout');
  if (!existsSync(node)) {
    const env = [
      `PATH=${PATH}`,
      `NODE_VERSION=${process.versions.node}`,
      'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
    ];
    await publish(node, (tmp) => writeLayout(tmp, [debianLayer, nodeLayer], { Env: env, Cmd: ['node'] }));
  }
  return { debian, node };
}

/** Pushes the real bases to `registry` (`127.0.0.1:PORT`) as `library/debian:bookworm` and `library/node:20`. */
export async function pushRealBases(registry: string): Promise<void> {
  const { debian, node } = await realBaseLayouts();
  for (const [layout, name] of [
    [debian, 'library/debian:bookworm'],
    [node, 'library/node:20'],
  ] as const) {
    await execa('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      '--dest-compress',
      `oci:${layout}:base`,
      `docker://${registry}/${name}`,
    ]);
  }
}

/** A new machine, new CAs or another Node: a fresh cache. */
async function cacheKey(): Promise<string> {
  const hash = createHash('sha256').update(`v1 ${process.execPath} ${process.versions.node}`);
  for (const name of await caFiles()) hash.update(await readFile(path.join(hostCaDir, name)));
  return hash.digest('hex').slice(0, 12);
}

async function caFiles(): Promise<string[]> {
  return (await readdir(hostCaDir).catch(() => [])).filter((name) => name.endsWith('.crt')).sort();
}

async function makeDebianRootfs(root: string): Promise<string> {
  if (!existsSync('/usr/sbin/debootstrap')) {
    await execa('apt-get', ['install', '-y', '-qq', 'debootstrap'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  await execa('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', root, MIRROR]);
  // The machine's CAs, trusted inside as on the host.
  await mkdir(path.join(root, hostCaDir), { recursive: true });
  for (const name of await caFiles()) await cp(path.join(hostCaDir, name), path.join(root, hostCaDir, name));
  await execa('chroot', [root, 'update-ca-certificates'], { env: { PATH } });
  // What images do not ship: device nodes (runtimes mount /dev), apt's downloaded lists and caches.
  for (const dir of ['dev', 'var/lib/apt/lists', 'var/cache/apt', 'tmp']) {
    await rm(path.join(root, dir), { recursive: true, force: true });
    await mkdir(path.join(root, dir), { recursive: true });
  }
  await chmod(path.join(root, 'tmp'), 0o1777);
  await mkdir(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  return root;
}

/** The node layer: Node and npm from this machine, a `node` user, as a diff over the Debian root. */
async function makeNodeLayerRoot(root: string, debianRoot: string): Promise<string> {
  await mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await mkdir(path.join(root, 'usr/lib/node_modules'), { recursive: true });
  await cp(process.execPath, path.join(root, 'usr/bin/node'));
  const npmDir = path.dirname(path.dirname(await realNpmCli()));
  await cp(npmDir, path.join(root, 'usr/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(root, 'usr/bin/npx'));
  await mkdir(path.join(root, 'etc'));
  const passwd = await readFile(path.join(debianRoot, 'etc/passwd'), 'utf8');
  const group = await readFile(path.join(debianRoot, 'etc/group'), 'utf8');
  await writeFile(path.join(root, 'etc/passwd'), `${passwd}node:x:1000:1000::/home/node:/bin/bash\n`, { mode: 0o644 });
  await writeFile(path.join(root, 'etc/group'), `${group}node:x:1000:\n`, { mode: 0o644 });
  await mkdir(path.join(root, 'home/node'), { recursive: true });
  await chown(path.join(root, 'home/node'), 1000, 1000);
  return root;
}

/** npm's CLI script as installed on this machine. */
async function realNpmCli(): Promise<string> {
  const { stdout } = await execa('readlink', ['-f', (await execa('sh', ['-c', 'command -v npm'])).stdout.trim()]);
  return stdout.trim();
}

async function cachedLayer(file: string, root: string): Promise<Layer> {
  if (!existsSync(file)) await publish(file, (tmp) => writeLayerTar(root, tmp));
  return { file, digest: `sha256:${await sha256File(file)}`, size: (await stat(file)).size };
}

/** An OCI image layout holding one image (`base`) of `layers` (uncompressed) and `config`. */
async function writeLayout(dir: string, layers: Layer[], config: { Env: string[]; Cmd: string[] }): Promise<string> {
  const blobs = path.join(dir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: string | Buffer): Promise<{ digest: string; size: number }> => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(path.join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(bytes) };
  };
  for (const layer of layers) await cp(layer.file, path.join(blobs, layer.digest.slice(7)));
  const image = {
    architecture: hostArchitecture(),
    os: 'linux',
    created: CREATED,
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
    history: layers.map(() => ({ created: CREATED, created_by: 'tzbuild test helper: real base' })),
  };
  const configBlob = await put(JSON.stringify(image));
  const manifest = await put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: layers.map((layer) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: layer.digest,
        size: layer.size,
      })),
    }),
  );
  const ref = { 'org.opencontainers.image.ref.name': 'base' };
  const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: ref };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return dir;
}
