/**
 * RUN end to end: the command sees ENV, ARGs, USER, WORKDIR and SHELL; heredocs become scripts or
 * stdin; deletions become whiteouts in the layer tar; a failure names its line, exit code and
 * output.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_PATH } from '../../helpers/busybox.js';
import {
  build,
  buildOk,
  inspect,
  layerNames,
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

const DOCKERFILE = `ARG GLOBAL=from-before-from
FROM busybox
ARG GREETING
ENV PLACE=earth
ENV PATH=/opt/tools:$PATH
RUN echo "[$GLOBAL] [$UNDECLARED]" > /global-unseen && echo "$PATH" > /path
ARG GLOBAL
USER app
RUN id -u > /tmp/uid && id -g >> /tmp/uid && echo "$HOME" > /tmp/home
USER root
WORKDIR /work
RUN pwd > cwd && echo "$HOME" > home && echo "$GREETING $PLACE $GLOBAL" > vars
RUN ["/bin/sh", "-c", "echo \\"exec $PLACE\\" > /work/exec"]
RUN printf '#!/bin/sh\\necho "shell:$*" > /work/shell-args\\n' > /bin/myshell && chmod 755 /bin/myshell
SHELL ["/bin/myshell", "-x"]
RUN hello world
SHELL ["/bin/sh", "-c"]
RUN <<EOF
echo line1 > /work/script
echo "line2 $PLACE" >> /work/script
EOF
RUN cat <<EOF > /work/fed
fed $PLACE
EOF
RUN rm /etc/group
RUN rm -rf /home/app && mkdir /home/app && echo fresh > /home/app/new
RUN touch /work/suid && chmod 4755 /work/suid
`;

describe('RUN', () => {
  let rootfs: string;

  beforeAll(async () => {
    const context = await writeContext({ Dockerfile: DOCKERFILE });
    await buildOk(store, ['-t', 'run:1', '--build-arg', 'GREETING=hello', '--build-arg', 'UNDECLARED=leak', context]);
    rootfs = await unpack(store, 'run:1');
  });

  it('runs as the USER, whose files it owns', async () => {
    expect(await pathInfo(rootfs, 'tmp/uid')).toMatchObject({
      type: 'file',
      content: '1000\n1000\n',
      uid: 1000,
      gid: 1000,
    });
  });

  it("sets HOME to the user's passwd home, as runc does", async () => {
    expect(await readIn(rootfs, 'tmp/home')).toBe('/home/app\n');
    expect(await readIn(rootfs, 'work/home')).toBe('/root\n');
  });

  it('runs in WORKDIR with ENV and --build-arg values visible', async () => {
    expect(await readIn(rootfs, 'work/cwd')).toBe('/work\n');
    expect(await readIn(rootfs, 'work/vars')).toBe('hello earth from-before-from\n');
  });

  it('hides a global ARG until the stage declares it, and never passes undeclared --build-args', async () => {
    expect(await readIn(rootfs, 'global-unseen')).toBe('[] []\n');
  });

  it('expands ENV from earlier ENV and passes it to RUN', async () => {
    expect(await readIn(rootfs, 'path')).toBe(`/opt/tools:${BUSYBOX_PATH}\n`);
  });

  it('runs the exec form without a shell around it', async () => {
    expect(await readIn(rootfs, 'work/exec')).toBe('exec earth\n');
  });

  it('runs the shell form through SHELL', async () => {
    expect(await readIn(rootfs, 'work/shell-args')).toBe('shell:-x hello world\n');
  });

  it('runs a heredoc as a script and feeds a heredoc to a command', async () => {
    expect(await readIn(rootfs, 'work/script')).toBe('line1\nline2 earth\n');
    expect(await readIn(rootfs, 'work/fed')).toBe('fed earth\n');
  });

  it('records a deletion as a whiteout; the file is gone in the image', async () => {
    expect(await layerNames(store, 'run:1', -3)).toEqual(['etc', 'etc/.wh.group']);
    expect(await pathInfo(rootfs, 'etc/group')).toBeUndefined();
    expect(await pathInfo(rootfs, 'etc/passwd')).toMatchObject({ type: 'file' });
  });

  it('marks a directory removed and made again as opaque', async () => {
    const names = await layerNames(store, 'run:1', -2);
    expect(names).toContain('home/app/.wh..wh..opq');
    expect(names).toContain('home/app/new');
    expect(await pathInfo(rootfs, 'home/app')).toMatchObject({ type: 'dir', uid: 0, gid: 0 });
    expect(await readIn(rootfs, 'home/app/new')).toBe('fresh\n');
  });

  it('keeps the setuid bit', async () => {
    expect(await pathInfo(rootfs, 'work/suid')).toMatchObject({ type: 'file', mode: 0o4755, uid: 0 });
  });

  it('adds one layer per RUN and config-only entries for the rest', async () => {
    const image = await inspect(store, 'run:1');
    const runs = DOCKERFILE.match(/^RUN /gm)!.length;
    // The base layer, the WORKDIR that created /work, and every RUN (each changes files).
    expect(image.RootFS.Layers).toHaveLength(1 + 1 + runs);
    const empty = image.History.filter((entry) => entry.empty_layer).map((entry) => entry.created_by);
    expect(empty).toEqual([
      'ARG GREETING=hello',
      'ENV PLACE=earth',
      `ENV PATH=/opt/tools:${BUSYBOX_PATH}`,
      'ARG GLOBAL=from-before-from',
      'USER app',
      'USER root',
      'SHELL [/bin/myshell -x]',
      'SHELL [/bin/sh -c]',
    ]);
    expect(image.Config.Shell).toEqual(['/bin/sh', '-c']);
  });

  it('adds no layer for a RUN that changes nothing', async () => {
    await buildOk(store, ['-t', 'run:noop', await writeContext({ Dockerfile: 'FROM busybox\nRUN true\n' })]);
    const image = await inspect(store, 'run:noop');
    expect(image.RootFS.Layers).toHaveLength(1);
    expect(image.History.at(-1)).toMatchObject({ created_by: 'RUN /bin/sh -c true # buildkit', empty_layer: true });
  });
});

describe('a failing RUN', () => {
  const dockerfile = 'FROM busybox\nENV A=1\nRUN echo out-$A && echo err-$A >&2 && exit 3\nRUN echo never\n';

  it('exits 1 naming the line and the exit code, with the output shown', async () => {
    const context = await writeContext({ Dockerfile: dockerfile });
    const result = await build(store, ['-t', 'run:fail', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile:3: .*did not complete successfully: exit code: 3/);
    // The command text says `out-$A`; only its output says `out-1`.
    expect(result.stderr).toContain('out-1');
    expect(result.stderr).toContain('err-1');
    expect(result.stderr).not.toContain('[stage-0 4/4]');
    expect(result.stderr).not.toMatch(/internal error/);
  });

  it('puts the output tail into the error when progress is quiet', async () => {
    const context = await writeContext({ Dockerfile: dockerfile });
    const result = await build(store, ['-q', '-t', 'run:fail', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    const errorAt = result.stderr.indexOf('exit code: 3');
    expect(errorAt).toBeGreaterThanOrEqual(0);
    expect(result.stderr.indexOf('out-1')).toBeGreaterThan(errorAt);
    expect(result.stderr.indexOf('err-1')).toBeGreaterThan(errorAt);
  });
});
