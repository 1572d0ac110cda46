/**
 * COPY end to end: one image exercises the placement rules (checked in the unpacked rootfs), and
 * separate builds check the refusals and their messages.
 */
import { chmod, link, mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  build,
  buildOk,
  cli,
  inspect,
  loadedStore,
  pathInfo,
  readIn,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';

let store: string;

beforeAll(async () => {
  store = await loadedStore();
});

/** A fixed time for one source file: COPY keeps source mtimes. */
const ONE_MTIME = 1_600_000_000;

const DOCKERFILE = `FROM busybox AS builder
RUN echo built > /artifact && chmod 0700 /artifact && ln -s /artifact /artifact-link

FROM busybox
COPY one.txt /single/renamed.txt
COPY dir /dircontents/
COPY *.log /logs/
COPY one.txt two.txt /multi/
WORKDIR /work
COPY one.txt rel.txt
COPY one.txt /home/app
COPY --chown=app:app one.txt /owned/byname
COPY --chown=1000 one.txt /owned/byuid
COPY --chmod=0640 exec.sh /moded
COPY exec.sh /keptmode
COPY links /links/
COPY namedlink /named
COPY hard /hard/
ARG WHO=world
COPY <<EOF /heredoc/expanded
hello $WHO
EOF
COPY <<"EOF" /heredoc/quoted
hello $WHO
EOF
COPY --from=builder /artifact /from-stage
COPY --from=builder /artifact-link /from-stage-link
COPY --from=busybox:latest /etc/group /from-image
COPY two.txt .
ENV DEST=/envdest
COPY one.txt $DEST/
RUN ln -s /srv /srvlink
COPY one.txt /srvlink/
COPY --chown=app:app one.txt /deep/er/file
COPY --chown=app:app dir /ownedtree/
COPY private /private/
COPY suid.bin /suid.bin
COPY ["with space.txt", "/spaced dir/"]
`;

describe('COPY placement', () => {
  let rootfs: string;

  beforeAll(async () => {
    const context = await writeContext({
      Dockerfile: DOCKERFILE,
      'one.txt': 'one\n',
      'two.txt': 'two\n',
      'dir/a': 'A\n',
      'dir/sub/b': 'B\n',
      'a.log': 'log a\n',
      'b.log': 'log b\n',
      'c.txt': 'not a log\n',
      'exec.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
      'links/target.txt': 'target\n',
      'links/rel': { symlink: 'target.txt' },
      'links/abs': { symlink: '/etc/passwd' },
      namedlink: { symlink: 'one.txt' },
      'hard/a': 'shared inode\n',
      'private/inner/secret': { content: 'secret\n', mode: 0o600 },
      'suid.bin': { content: 'setuid\n', mode: 0o4755 },
      'with space.txt': 'spaced\n',
    });
    await link(path.join(context, 'hard/a'), path.join(context, 'hard/b'));
    await utimes(path.join(context, 'one.txt'), ONE_MTIME, ONE_MTIME);
    await chmod(path.join(context, 'private'), 0o700);
    await chmod(path.join(context, 'private/inner'), 0o700);
    await buildOk(store, ['-t', 'copy:1', context]);
    rootfs = await unpack(store, 'copy:1');
  });

  it('copies a single file to a new name, root-owned with its mode', async () => {
    expect(await pathInfo(rootfs, 'single/renamed.txt')).toMatchObject({
      type: 'file',
      content: 'one\n',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: ONE_MTIME,
    });
    expect(await pathInfo(rootfs, 'single')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
  });

  it('copies the contents of a directory, not the directory itself', async () => {
    expect(await readIn(rootfs, 'dircontents/a')).toBe('A\n');
    expect(await readIn(rootfs, 'dircontents/sub/b')).toBe('B\n');
    expect(await pathInfo(rootfs, 'dircontents/dir')).toBeUndefined();
  });

  it('expands wildcards against the context', async () => {
    expect(await readIn(rootfs, 'logs/a.log')).toBe('log a\n');
    expect(await readIn(rootfs, 'logs/b.log')).toBe('log b\n');
    expect(await pathInfo(rootfs, 'logs/c.txt')).toBeUndefined();
  });

  it('puts several sources into a directory named with a trailing slash', async () => {
    expect(await readIn(rootfs, 'multi/one.txt')).toBe('one\n');
    expect(await readIn(rootfs, 'multi/two.txt')).toBe('two\n');
  });

  it('resolves a relative destination against WORKDIR', async () => {
    expect(await pathInfo(rootfs, 'work/rel.txt')).toMatchObject({ type: 'file', content: 'one\n' });
  });

  it('copies into an existing directory named without a trailing slash, keeping its owner', async () => {
    expect(await pathInfo(rootfs, 'home/app/one.txt')).toMatchObject({
      type: 'file',
      content: 'one\n',
      uid: 0,
      gid: 0,
    });
    expect(await pathInfo(rootfs, 'home/app')).toMatchObject({ type: 'dir', uid: 1000, gid: 1000 });
  });

  it('applies --chown by name and by bare uid (gid = uid)', async () => {
    expect(await pathInfo(rootfs, 'owned/byname')).toMatchObject({ type: 'file', uid: 1000, gid: 1000 });
    expect(await pathInfo(rootfs, 'owned/byuid')).toMatchObject({ type: 'file', uid: 1000, gid: 1000 });
  });

  it('applies --chmod, and otherwise keeps the source mode', async () => {
    expect(await pathInfo(rootfs, 'moded')).toMatchObject({ type: 'file', mode: 0o640 });
    expect(await pathInfo(rootfs, 'keptmode')).toMatchObject({ type: 'file', mode: 0o755 });
  });

  it('copies symlinks inside a directory as symlinks', async () => {
    expect(await pathInfo(rootfs, 'links/rel')).toMatchObject({ type: 'symlink', content: 'target.txt' });
    expect(await pathInfo(rootfs, 'links/abs')).toMatchObject({ type: 'symlink', content: '/etc/passwd' });
    expect(await readIn(rootfs, 'links/target.txt')).toBe('target\n');
  });

  it('copies a symlink named as the source as its target content', async () => {
    expect(await pathInfo(rootfs, 'named')).toMatchObject({ type: 'file', content: 'one\n' });
  });

  it('keeps hardlinks between copied files', async () => {
    const a = await pathInfo(rootfs, 'hard/a');
    const b = await pathInfo(rootfs, 'hard/b');
    expect(a).toMatchObject({ type: 'file', content: 'shared inode\n', nlink: 2 });
    expect(b?.ino).toBe(a?.ino);
  });

  it('expands variables in an unquoted heredoc and keeps a quoted one literal', async () => {
    expect(await pathInfo(rootfs, 'heredoc/expanded')).toMatchObject({
      type: 'file',
      content: 'hello world\n',
      mode: 0o644,
      uid: 0,
    });
    expect(await readIn(rootfs, 'heredoc/quoted')).toBe('hello $WHO\n');
  });

  it('copies from an earlier stage and from an image by name', async () => {
    expect(await pathInfo(rootfs, 'from-stage')).toMatchObject({
      type: 'file',
      content: 'built\n',
      mode: 0o700,
      uid: 0,
    });
    // An absolute symlink named as the source resolves inside the stage, not on the host.
    expect(await pathInfo(rootfs, 'from-stage-link')).toMatchObject({ type: 'file', content: 'built\n', mode: 0o700 });
    expect(await readIn(rootfs, 'from-image')).toBe(await readIn(rootfs, 'etc/group'));
    expect(await readIn(rootfs, 'from-image')).toMatch(/^app:x:1000:$/m);
  });

  it('copies from a stage of 70 layers (a lowerdir chain too long to name in one mount option)', async () => {
    const files: Record<string, string> = {};
    const steps: string[] = [];
    for (let i = 0; i < 70; i += 1) {
      files[`f${i}`] = `${i}\n`;
      steps.push(`COPY f${i} /deep/f${i}`);
    }
    const context = await writeContext({
      ...files,
      Dockerfile: `FROM scratch AS deep\n${steps.join('\n')}\n\nFROM scratch\nCOPY --from=deep /deep /copied\n`,
    });
    await buildOk(store, ['-t', 'copy:deep', context]);
    const rootfs = await unpack(store, 'copy:deep');
    expect(await readIn(rootfs, '/copied/f0')).toBe('0\n');
    expect(await readIn(rootfs, '/copied/f69')).toBe('69\n');
  });

  it('copies to `.` and to a destination named through ENV', async () => {
    expect(await readIn(rootfs, 'work/two.txt')).toBe('two\n');
    expect(await readIn(rootfs, 'envdest/one.txt')).toBe('one\n');
  });

  it('follows a symlink in the destination path inside the image', async () => {
    expect(await pathInfo(rootfs, 'srvlink')).toMatchObject({ type: 'symlink', content: '/srv' });
    expect(await readIn(rootfs, 'srv/one.txt')).toBe('one\n');
  });

  it('gives the directories COPY creates the --chown owner, as BuildKit does', async () => {
    expect(await pathInfo(rootfs, 'deep/er/file')).toMatchObject({ type: 'file', uid: 1000, gid: 1000 });
    expect(await pathInfo(rootfs, 'deep/er')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000, gid: 1000 });
    expect(await pathInfo(rootfs, 'deep')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000, gid: 1000 });
    expect(await pathInfo(rootfs, 'ownedtree')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000, gid: 1000 });
    expect(await pathInfo(rootfs, 'ownedtree/sub')).toMatchObject({ type: 'dir', uid: 1000, gid: 1000 });
    expect(await pathInfo(rootfs, 'ownedtree/sub/b')).toMatchObject({
      type: 'file',
      content: 'B\n',
      uid: 1000,
      gid: 1000,
    });
  });

  it('creates a new destination directory 0755 whatever the source mode; nested ones keep theirs', async () => {
    expect(await pathInfo(rootfs, 'private')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    expect(await pathInfo(rootfs, 'private/inner')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(await pathInfo(rootfs, 'private/inner/secret')).toMatchObject({
      type: 'file',
      mode: 0o600,
      content: 'secret\n',
    });
  });

  it('keeps the setuid bit of a copied file', async () => {
    expect(await pathInfo(rootfs, 'suid.bin')).toMatchObject({ type: 'file', mode: 0o4755, uid: 0 });
  });

  it('takes names with spaces in the JSON form', async () => {
    expect(await readIn(rootfs, 'spaced dir/with space.txt')).toBe('spaced\n');
  });

  it('adds one layer per COPY (and for the new WORKDIR and the RUN) on top of the base', async () => {
    const image = await inspect(store, 'copy:1');
    const finalStage = DOCKERFILE.split('\nFROM busybox\n')[1]!;
    expect(finalStage.match(/^COPY /gm)).toHaveLength(26);
    // The base, 26 COPYs, the WORKDIR that made /work and the RUN that made the symlink.
    expect(image.RootFS.Layers).toHaveLength(1 + 26 + 1 + 1);
    expect(image.History.filter((entry) => entry.empty_layer).map((entry) => entry.created_by)).toEqual([
      'ARG WHO=world',
      'ENV DEST=/envdest',
    ]);
  });
});

describe('COPY refusals', () => {
  it('refuses a source outside the context', async () => {
    const outer = await writeContext({ x: 'secret outside\n', 'ctx/Dockerfile': 'FROM busybox\nCOPY ../x /x\n' });
    const result = await build(store, ['-t', 'copy:outside', path.join(outer, 'ctx')]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:2: .*outside the build context: \.\.\/x/);
    expect(result.stderr).not.toMatch(/internal error/);
    expect(await cli(store, ['images'])).not.toMatch(/outside/);
  });

  it('fails on a missing source, naming the Dockerfile line', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nRUN true\nCOPY nope.txt /nope.txt\n' });
    const result = await build(store, ['-t', 'copy:missing', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:3: .*nope\.txt/);
    expect(result.stderr).not.toMatch(/internal error/);
  });

  it('fails on a source excluded by .dockerignore, naming the pattern', async () => {
    const context = await writeContext({
      Dockerfile: 'FROM busybox\nCOPY secret.key /secret.key\n',
      '.dockerignore': '# keys stay home\n*.key\n',
      'secret.key': 'private\n',
    });
    const result = await build(store, ['-t', 'copy:ignored', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:2: /);
    expect(result.stderr).toMatch(/secret\.key/);
    expect(result.stderr).toMatch(/\*\.key/);
  });

  it('refuses several sources into a destination without a trailing slash', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nCOPY a b /dest\n', a: 'a', b: 'b' });
    const result = await build(store, ['-t', 'copy:multi', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:2: .*destination must be a directory and end with a \//);
  });

  it('copies nothing from an empty directory but still succeeds', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nCOPY empty/ /made/\n' });
    await mkdir(path.join(context, 'empty'));
    await writeFile(path.join(context, 'unused'), 'x');
    await buildOk(store, ['-t', 'copy:empty', context]);
    const rootfs = await unpack(store, 'copy:empty');
    expect(await pathInfo(rootfs, 'made')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0 });
  });
});

describe('COPY into an image without layers', () => {
  it('copies a whole stage to / of scratch (the root needs no entry of its own)', async () => {
    const whole = await writeContext({ Dockerfile: 'FROM busybox AS b\nFROM scratch\nCOPY --from=b / /\n' });
    await buildOk(store, ['-t', 'copy-scratch:1', whole]);
    const rootfs = await unpack(store, 'copy-scratch:1');
    expect(await pathInfo(rootfs, 'bin/busybox')).toMatchObject({ type: 'file' });
    expect(await readIn(rootfs, 'etc/group')).toContain('root:x:0:');
  });
});
