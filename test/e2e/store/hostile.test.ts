/**
 * Hostile input, the cases test/unit/layers/ and test/unit/archive/ does not already cover: device nodes (dropped, so a
 * base image cannot hand out the host's disks), non-UTF-8 names, lying size headers, digests that
 * would be paths, oversized JSON, OCI documents that contradict themselves (through the CLI: one
 * line, exit 1, the store untouched). Legit images keep working (absolute symlinks, /var/run -> /run).
 */
import { lstat, mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../../core/errors.js';
import { FsContentStore } from '../../../store/content-store.js';
import { applyLayer } from '../../../layers/layer-apply.js';
import { encodeHeader, endOfArchive, paddingFor } from '../../../layers/tar-format.js';
import { loadedStore, tempDir, writeContext } from '../../helpers/build-fixture.js';
import { runTzbuild } from '../../helpers/cli.js';
import { MediaType, type Descriptor } from '../../../core/oci.js';
import { sha256Digest } from '../../../core/digest.js';
import {
  describe as describeBlob,
  imageParts,
  indexFor,
  manifestObject,
  validLayout,
  writeLayoutDir,
  writeLayoutTar,
} from '../../helpers/oci-layout.js';
import { expectFsckClean, expectStoreUnchanged } from '../../helpers/store-state.js';
import { makeDeepTree } from '../../helpers/deep-tree.js';
import { header, rawTar, streamOf } from '../../helpers/layers.js';

async function target(): Promise<{ base: string; dir: string }> {
  const base = await tempDir('hostile');
  const dir = path.join(base, 'root');
  await mkdir(dir);
  return { base, dir };
}

describe('device nodes in layers', () => {
  for (const format of ['overlay', 'merged'] as const) {
    it(`${format}: drops block and char devices, keeps whiteouts and fifos`, async () => {
      const { dir } = await target();
      const tar = rawTar([
        { header: header('dev/sda', { type: 'block', devmajor: 8, devminor: 0, mode: 0o666 }) },
        { header: header('dev/mem', { type: 'char', devmajor: 1, devminor: 1, mode: 0o666 }) },
        { header: header('fifo', { type: 'fifo', mode: 0o644 }) },
        { header: header('.wh.gone') },
        { header: header('kept'), body: 'ok' },
      ]);
      await applyLayer(streamOf(tar), dir, { format, label: 'devices.tar' });
      const names = (await readdir(dir, { recursive: true })).sort();
      expect(names).toEqual(format === 'overlay' ? ['fifo', 'gone', 'kept'] : ['fifo', 'kept']);
      expect((await lstat(path.join(dir, 'fifo'))).isFIFO()).toBe(true);
      if (format === 'overlay') expect((await lstat(path.join(dir, 'gone'))).rdev).toBe(0);
    });
  }
});

describe('names and headers', () => {
  it('keeps a non-UTF-8 name inside the root', async () => {
    const { base, dir } = await target();
    const block = encodeHeader(header('x', { size: 2 }));
    // Overwrite the name field with bytes that are not UTF-8 and re-checksum.
    block.fill(0, 0, 100);
    Buffer.from([0x66, 0xff, 0xfe]).copy(block, 0); // "f\xff\xfe"
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of block.subarray(0, 512)) sum += byte;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    const tar = Buffer.concat([block, Buffer.from('hi'), paddingFor(2), endOfArchive()]);
    await applyLayer(streamOf(tar), dir, { format: 'overlay', label: 'names.tar' });
    const [only, ...rest] = await readdir(dir);
    expect(rest).toEqual([]);
    expect(only?.startsWith('f')).toBe(true);
    expect(await readFile(path.join(dir, only!), 'utf8')).toBe('hi');
    expect((await readdir(base)).sort()).toEqual(['root']);
  });

  it('refuses a size header larger than the data, as a StoreError, writing nothing outside', async () => {
    const { base, dir } = await target();
    const good = rawTar([{ header: header('a'), body: 'short' }]);
    // Claim 1 MiB for a 5-byte body.
    const lying = Buffer.from(good);
    const block = encodeHeader(header('a', { size: 1024 * 1024 }));
    block.copy(lying, 0);
    await expect(
      applyLayer(streamOf(lying.subarray(0, 1024)), dir, { format: 'overlay', label: 'lying.tar' }),
    ).rejects.toBeInstanceOf(StoreError);
    expect((await readdir(base)).sort()).toEqual(['root']);
  });

  it('keeps absolute symlinks as they are and writes through /var/run -> /run inside the root', async () => {
    const { dir } = await target();
    const tar = rawTar([
      { header: header('run', { type: 'directory', mode: 0o755 }) },
      { header: header('var', { type: 'directory', mode: 0o755 }) },
      { header: header('var/run', { type: 'symlink', linkname: '/run' }) },
      { header: header('var/run/pid'), body: '1' },
    ]);
    await applyLayer(streamOf(tar), dir, { format: 'merged', label: 'legit.tar' });
    expect(await readlink(path.join(dir, 'var/run'))).toBe('/run');
    expect(await readFile(path.join(dir, 'run/pid'), 'utf8')).toBe('1');
  });
});

describe('digests and JSON from untrusted sources', () => {
  it('never turns a malformed digest into a path', async () => {
    const store = await FsContentStore.open(await tempDir('store'));
    for (const digest of ['sha256:../../etc/passwd', 'sha256:/etc/passwd', 'md5:abc', `sha256:${'A'.repeat(64)}`]) {
      expect(() => store.blobPath(digest as `sha256:${string}`)).toThrow(StoreError);
    }
  });

  it('refuses JSON blobs over the limit before reading them', async () => {
    const store = await FsContentStore.open(await tempDir('store'));
    const big = await store.putBytes(JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }));
    await expect(store.getJson(big.digest)).rejects.toThrow(/over the 4194304-byte limit/);
  });
});

describe('untrusted OCI documents through the CLI', () => {
  let store: string;

  beforeAll(async () => {
    store = await loadedStore();
  });

  /** Runs `tzbuild ARGS`, expects exit 1 with one `error:` line and the store untouched; returns that line. */
  async function refusedCommand(args: string[]): Promise<string> {
    const result = await expectStoreUnchanged(store, () => runTzbuild([...args, '--root', store]));
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr).not.toMatch(/internal error|^\s+at /m);
    return result.stderr.split('\n').find((line) => line.startsWith('error: ')) ?? result.stderr;
  }

  it('`load` refuses a manifest that is also an index (CVE-2021-41190)', async () => {
    const parts = validLayout((manifest) => {
      manifest.manifests = [describeBlob(Buffer.from('x'), MediaType.ociManifest)];
    });
    const archive = await writeLayoutTar(path.join(await tempDir('oci'), 'evil.tar'), parts);
    expect(await refusedCommand(['load', archive])).toMatch(
      new RegExp(`^error: ${archive}: manifest sha256:\\w+: holds both "manifests" and "layers"/"config"`),
    );
  });

  it('`load` refuses a foreign layer with a message saying why', async () => {
    const parts = validLayout((manifest) => {
      const [layer] = manifest.layers as Descriptor[];
      manifest.layers = [{ ...layer, mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }];
    });
    const archive = await writeLayoutTar(path.join(await tempDir('oci'), 'foreign.tar'), parts);
    expect(await refusedCommand(['load', archive])).toMatch(/: a foreign \(non-distributable\) layer, /);
  });

  it('FROM oci-layout:// refuses a config nested without bound, naming the FROM line, no stack overflow', async () => {
    const { layer, config } = imageParts();
    const configBytes = Buffer.from(
      `${JSON.stringify(config).slice(0, -1)},"x":${'['.repeat(500_000)}${']'.repeat(500_000)}}`,
    );
    const manifestBytes = Buffer.from(JSON.stringify(manifestObject(configBytes, layer)));
    const layout = await writeLayoutDir(path.join(await tempDir('oci'), 'layout'), {
      index: indexFor(manifestBytes),
      blobs: [layer, configBytes, manifestBytes],
    });
    const context = await writeContext({
      Dockerfile: `FROM busybox AS tools\nFROM oci-layout://${layout}\nCMD ["x"]\n`,
    });
    expect(await refusedCommand(['build', '--progress', 'plain', context])).toMatch(
      /^error: \S*Dockerfile:2: .*: JSON nested deeper than 64 levels$/,
    );
  });
});

describe('layers the host cannot unpack, through the CLI', () => {
  it("a dead build's scratch dir deeper than PATH_MAX is removed when the store opens", async () => {
    const store = await loadedStore();
    const scratch = path.join(store, 'tmp', '999999999.1', 'run-x', 'upper');
    await mkdir(scratch, { recursive: true });
    await makeDeepTree(scratch);
    const listed = await runTzbuild(['images', '--root', store]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect((await readdir(path.join(store, 'tmp'))).filter((name) => name !== 'logs')).toEqual([]);
    await expectFsckClean(store);
  });

  it('a step over an image whose layer is deeper than PATH_MAX fails naming it, leaving no half snapshot', async () => {
    const store = await loadedStore();
    const deep = `${Array.from({ length: 450 }, () => 'dddddddddd').join('/')}/leaf`;
    const layer = rawTar([{ header: header(deep, { size: 1 }), body: 'x' }]);
    const configBytes = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] },
      }),
    );
    const manifestBytes = Buffer.from(JSON.stringify(manifestObject(configBytes, layer)));
    const archive = await writeLayoutTar(path.join(await tempDir('oci'), 'deep.tar'), {
      index: indexFor(manifestBytes, {}, 'deep:1'),
      blobs: [layer, configBytes, manifestBytes],
    });
    expect((await runTzbuild(['load', archive, '--root', store])).exitCode).toBe(0);
    const context = await writeContext({ Dockerfile: 'FROM deep:1\nRUN true\n' });
    const result = await expectStoreUnchanged(store, () => runTzbuild(['build', '--root', store, context]));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /error: \S*Dockerfile:2: layer sha256:\w+: entry "dddddddddd\/.*….*\/leaf" is too deep: unpacked, its path /,
    );
  });
});
