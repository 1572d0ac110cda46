/**
 * The parity comparison itself: it must see every kind of difference it claims to compare, and
 * nothing it claims to ignore. Two small filesystem tars are written here and read back.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { compareFilesystems, readFilesystemTar } from './filesystem.js';
import { compareFacts, imageFacts } from './image-config.js';

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string;
  linkname?: string;
  mtime?: Date;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'tzb-parity-compare-'));
let count = 0;
afterAll(() => rm(dir, { recursive: true, force: true }));

async function tarOf(entries: Entry[]): Promise<string> {
  const file = path.join(dir, `${++count}.tar`);
  const pack = tarStream.pack();
  const done = pipeline(pack, createWriteStream(file));
  for (const { content, ...header } of entries) {
    pack.entry({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: 'file', ...header }, content ?? '');
  }
  pack.finalize();
  await done;
  return file;
}

const base: Entry[] = [
  { name: './', type: 'directory', mode: 0o755 },
  { name: 'etc/', type: 'directory', mode: 0o755 },
  { name: 'etc/passwd', content: 'root:x:0:0\n' },
  { name: 'tmp/', type: 'directory', mode: 0o1777 },
  { name: 'bin/sh', type: 'symlink', mode: 0o777, linkname: 'busybox' },
  { name: 'data/a', content: 'same inode\n' },
  { name: 'data/b', type: 'link', linkname: 'data/a' },
];

async function differences(left: Entry[], right: Entry[]): Promise<string[]> {
  return compareFilesystems(await readFilesystemTar(await tarOf(left)), await readFilesystemTar(await tarOf(right)));
}

describe('parity filesystem comparison', () => {
  it('finds nothing between equal trees, whatever their mtimes and runtime files', async () => {
    const withRuntime = [
      ...base.map((entry) => ({ ...entry, mtime: new Date('2030-01-01T00:00:00Z') })),
      { name: '.dockerenv', content: '' },
      { name: 'etc/hosts', content: '127.0.0.1 x\n' },
      { name: 'proc/', type: 'directory' as const },
      { name: 'dev/null', type: 'fifo' as const },
    ];
    expect(await differences(base, withRuntime)).toEqual([]);
  });

  it('names a changed mode, owner, content, link target and a missing path', async () => {
    const changed = base
      .map((entry) => {
        if (entry.name === 'tmp/') return { ...entry, mode: 0o1755 };
        if (entry.name === 'etc/passwd') return { ...entry, uid: 1000, content: 'root:x:0:0:\n' };
        if (entry.name === 'bin/sh') return { ...entry, linkname: 'ash' };
        return entry;
      })
      .filter((entry) => entry.name !== 'etc/');
    const found = await differences(base, changed);
    expect(found).toHaveLength(4);
    expect(found[0]).toBe('fs /bin/sh: link docker=busybox tzbuild=ash');
    expect(found[1]).toBe('fs /etc: only in docker directory 0755 0:0');
    expect(found[2]).toMatch(
      new RegExp(
        '^fs /etc/passwd: uid docker=0 tzbuild=1000, size docker=11 tzbuild=12, ' +
          'sha256 docker=[0-9a-f]{64} tzbuild=[0-9a-f]{64}$',
      ),
    );
    expect(found[3]).toBe('fs /tmp: mode docker=1777 tzbuild=1755');
  });

  it('compares hardlinks by inode group, not by which path the tar names first', async () => {
    const reversed = base.map((entry) => {
      if (entry.name === 'data/a') return { name: 'data/a', type: 'link' as const, linkname: 'data/b' };
      if (entry.name === 'data/b') return { name: 'data/b', content: 'same inode\n' };
      return entry;
    });
    expect(await differences(base, reversed)).toEqual([]);
    const unlinked = base.map((entry) =>
      entry.name === 'data/b' ? { name: 'data/b', content: 'same inode\n' } : entry,
    );
    expect(await differences(base, unlinked)).toEqual([
      'fs /data/a: link docker=hardlinked with data/b tzbuild=undefined',
      'fs /data/b: link docker=hardlinked with data/a tzbuild=undefined',
    ]);
  });
});

describe('parity config comparison', () => {
  const raw = {
    config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, Labels: { a: '1' } },
    rootfs: { diff_ids: ['sha256:1', 'sha256:2'] },
    history: [{ created_by: 'base' }, { created_by: 'ENV A=1', empty_layer: true }, { created_by: 'RUN x # buildkit' }],
  };

  it('treats null and absent alike and names every other difference', () => {
    const same = imageFacts({ ...raw, config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { a: '1' } } });
    expect(compareFacts(imageFacts(raw), same, { createdBy: true })).toEqual([]);
    const other = imageFacts({
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { a: '2' }, StopSignal: 'SIGKILL' },
      rootfs: { diff_ids: ['sha256:1'] },
      history: [{ created_by: 'base' }, { created_by: 'ENV A=1' }, { created_by: 'RUN y # buildkit' }],
    });
    expect(compareFacts(imageFacts(raw), other, { createdBy: true })).toEqual([
      'config.Labels: docker={"a":"1"} tzbuild={"a":"2"}',
      'config.StopSignal: docker=undefined tzbuild="SIGKILL"',
      'layers: docker=2 tzbuild=1',
      'history[1]: docker="empty ENV A=1" tzbuild="layer ENV A=1"',
      'history[2]: docker="layer RUN x # buildkit" tzbuild="layer RUN y # buildkit"',
    ]);
    // Without created_by (a rewritten Dockerfile on docker's side) only the kinds are compared.
    expect(compareFacts(imageFacts(raw), other, { createdBy: false })).toEqual([
      'config.Labels: docker={"a":"1"} tzbuild={"a":"2"}',
      'config.StopSignal: docker=undefined tzbuild="SIGKILL"',
      'layers: docker=2 tzbuild=1',
      'history[1]: docker="empty" tzbuild="layer"',
    ]);
  });
});
