/**
 * ADD end to end: local archives (plain and compressed) are extracted with their own owners and
 * modes, a file that only looks like an archive is copied as is, URLs are downloaded from a local
 * HTTP server (with and without --checksum), and a hostile archive is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  build,
  buildOk,
  cli,
  loadedStore,
  pathInfo,
  tempDir,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';

const DOWNLOAD = 'downloaded over http\n';
const DOWNLOAD_DIGEST = `sha256:${createHash('sha256').update(DOWNLOAD).digest('hex')}`;

let store: string;
let server: http.Server;
let baseUrl: string;

beforeAll(async () => {
  store = await loadedStore();
  server = http.createServer((request, response) => {
    if (request.url !== '/files/data.bin') {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT',
    });
    response.end(DOWNLOAD);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** A tree to archive: a 0755 tool and a 0600 config, owned by 1000:1000 (names chosen by the test). */
async function archiveSource(): Promise<string> {
  const dir = await tempDir('tar-src');
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(path.join(dir, 'bin/tool'), 0o755);
  await writeFile(path.join(dir, 'conf'), 'secret=1\n');
  await chmod(path.join(dir, 'conf'), 0o600);
  for (const name of ['bin', 'bin/tool', 'conf']) await chown(path.join(dir, name), 1000, 1000);
  return dir;
}

/** Writes `name` into `context` with GNU tar (`compress`: tar's own flag, e.g. `-z`). */
async function makeArchive(context: string, name: string, source: string, compress?: string): Promise<void> {
  const flags = [
    '--numeric-owner',
    '-c',
    ...(compress ? [compress] : []),
    '-f',
    path.join(context, name),
    '-C',
    source,
    'bin',
    'conf',
  ];
  await execa('tar', flags);
}

describe('ADD of local files', () => {
  let rootfs: string;

  beforeAll(async () => {
    const context = await writeContext({
      Dockerfile: [
        'FROM busybox',
        'ADD app.tar /x/tar/',
        'ADD app.tar.gz /x/gz/',
        'ADD app.tar.bz2 /x/bz2/',
        'ADD app.tar.xz /x/xz',
        'ADD fake.tar.gz /fake/',
        'ADD plain.txt /plain.txt',
        '',
      ].join('\n'),
      'fake.tar.gz': 'this is not gzip at all\n',
      'plain.txt': 'plain\n',
    });
    const source = await archiveSource();
    await makeArchive(context, 'app.tar', source);
    await makeArchive(context, 'app.tar.gz', source, '-z');
    await makeArchive(context, 'app.tar.bz2', source, '-j');
    await makeArchive(context, 'app.tar.xz', source, '-J');
    await buildOk(store, ['-t', 'add:local', context]);
    rootfs = await unpack(store, 'add:local');
  });

  for (const kind of ['tar', 'gz', 'bz2', 'xz']) {
    it(`extracts a ${kind} archive with the archive's owners and modes`, async () => {
      expect(await pathInfo(rootfs, `x/${kind}/bin/tool`)).toMatchObject({
        type: 'file',
        content: '#!/bin/sh\necho tool\n',
        mode: 0o755,
        uid: 1000,
        gid: 1000,
      });
      expect(await pathInfo(rootfs, `x/${kind}/conf`)).toMatchObject({
        type: 'file',
        content: 'secret=1\n',
        mode: 0o600,
        uid: 1000,
        gid: 1000,
      });
      expect(await pathInfo(rootfs, `x/${kind}/bin`)).toMatchObject({ type: 'dir', uid: 1000, gid: 1000 });
      // The destination is made like `mkdir -p`, not with the mode of a staging dir.
      expect(await pathInfo(rootfs, `x/${kind}`)).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
      expect(await pathInfo(rootfs, `x/${kind}/app.tar`)).toBeUndefined();
    });
  }

  it('copies a file named like an archive but not one as is', async () => {
    expect(await pathInfo(rootfs, 'fake/fake.tar.gz')).toMatchObject({
      type: 'file',
      content: 'this is not gzip at all\n',
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
  });

  it('copies a plain file like COPY does', async () => {
    expect(await pathInfo(rootfs, 'plain.txt')).toMatchObject({
      type: 'file',
      content: 'plain\n',
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
  });
});

describe('ADD of URLs', () => {
  it('downloads into a directory under the URL name, mode 0600, and checks a right --checksum', async () => {
    const context = await writeContext({
      Dockerfile: [
        'FROM busybox',
        `ADD ${baseUrl}/files/data.bin /dl/`,
        `ADD --checksum=${DOWNLOAD_DIGEST} ${baseUrl}/files/data.bin /checked`,
        '',
      ].join('\n'),
    });
    await buildOk(store, ['-t', 'add:url', context]);
    const rootfs = await unpack(store, 'add:url');
    // Its time is the server's Last-Modified.
    expect(await pathInfo(rootfs, 'dl/data.bin')).toMatchObject({
      type: 'file',
      content: DOWNLOAD,
      mode: 0o600,
      uid: 0,
      gid: 0,
      mtime: 1_700_000_000,
    });
    expect(await pathInfo(rootfs, 'checked')).toMatchObject({ type: 'file', content: DOWNLOAD, mode: 0o600 });
  });

  it('fails on a wrong --checksum, naming the line and both digests', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const context = await writeContext({
      Dockerfile: `FROM busybox\nADD --checksum=${wrong} ${baseUrl}/files/data.bin /checked\n`,
    });
    const result = await build(store, ['-t', 'add:badsum', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:2: /);
    expect(result.stderr).toContain(wrong);
    expect(result.stderr).toContain(DOWNLOAD_DIGEST);
    expect(await cli(store, ['images'])).not.toMatch(/badsum/);
  });

  it('fails on a URL the server does not have', async () => {
    const context = await writeContext({ Dockerfile: `FROM busybox\nADD ${baseUrl}/missing /m\n` });
    const result = await build(store, ['-t', 'add:404', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:2: .*404/);
  });
});

describe('ADD of a hostile archive', () => {
  it('refuses an entry that climbs out with ../ and writes nothing outside', async () => {
    const name = `evil-${randomBytes(4).toString('hex')}`;
    const context = await writeContext({ Dockerfile: 'FROM busybox\nADD hostile.tar /unpacked/\n' });
    const pack = tarStream.pack();
    const done = pipeline(pack, createWriteStream(path.join(context, 'hostile.tar')));
    pack.entry({ name: 'ok.txt', mode: 0o644 }, 'fine\n');
    pack.entry({ name: `../${name}`, mode: 0o644 }, 'escaped\n');
    pack.entry({ name: `a/../../../${name}`, mode: 0o644 }, 'escaped\n');
    pack.finalize();
    await done;
    const result = await build(store, ['-t', 'add:hostile', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:2: /);
    expect(result.stderr).not.toMatch(/internal error/);
    const found = await execa('find', [store, path.dirname(context), '/', '-xdev', '-maxdepth', '3', '-name', name], {
      reject: false,
    });
    expect(found.stdout).toBe('');
    expect(existsSync(path.join('/', name))).toBe(false);
    expect(await cli(store, ['images'])).not.toMatch(/hostile/);
  });

  it('keeps a write through a symlink in the archive inside the destination, as a chroot would', async () => {
    const name = `evil-${randomBytes(4).toString('hex')}`;
    const context = await writeContext({ Dockerfile: 'FROM busybox\nADD hostile.tar /unpacked/\n' });
    const pack = tarStream.pack();
    const done = pipeline(pack, createWriteStream(path.join(context, 'hostile.tar')));
    pack.entry({ name: 'link', type: 'symlink', linkname: '/tmp' });
    pack.entry({ name: `link/${name}`, mode: 0o644 }, 'through the link\n');
    pack.finalize();
    await done;
    await buildOk(store, ['-t', 'add:symlink', context]);
    const rootfs = await unpack(store, 'add:symlink');
    expect(await pathInfo(rootfs, 'unpacked/link')).toMatchObject({ type: 'symlink', content: '/tmp' });
    expect(await pathInfo(rootfs, `unpacked/tmp/${name}`)).toMatchObject({
      type: 'file',
      content: 'through the link\n',
    });
    expect(await pathInfo(rootfs, `tmp/${name}`)).toBeUndefined();
    expect(existsSync(path.join('/tmp', name))).toBe(false);
  });
});
