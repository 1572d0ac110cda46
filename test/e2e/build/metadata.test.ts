/**
 * Config-only instructions end to end: what lands in the image config (read with `tzbuild
 * inspect`), ONBUILD triggers across images, global ARGs in FROM, and the build flags that pick
 * the Dockerfile, the target stage and labels.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_PATH } from '../../helpers/busybox.js';
import {
  buildDockerfile,
  buildOk,
  inspect,
  loadedStore,
  pathInfo,
  readIn,
  tempDir,
  unpack,
  writeContext,
  type InspectView,
} from '../../helpers/build-fixture.js';

let store: string;

beforeAll(async () => {
  store = await loadedStore();
});

const SECOND = 1_000_000_000;

describe('config instructions', () => {
  let image: InspectView;
  let rootfs: string;

  beforeAll(async () => {
    const dockerfile = [
      'ARG BASE=busybox',
      'ARG VERSION=latest',
      'FROM ${BASE}:${VERSION}',
      'MAINTAINER Jane Doe <jane@example.com>',
      'ENV ONE=1 TWO="two words"',
      'ENV LEGACY legacy form $ONE',
      'LABEL org.example.name="meta test" version=1.0',
      'EXPOSE 80 8000-8002 53/udp',
      'VOLUME /data /logs',
      'VOLUME ["/cache"]',
      'USER app:app',
      'WORKDIR /srv/app',
      'STOPSIGNAL SIGTERM',
      'HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=4 CMD wget -q localhost || exit 1',
      'SHELL ["/bin/sh", "-ec"]',
      'CMD echo hello',
      'ENTRYPOINT ["/bin/entry", "--flag"]',
      '',
    ].join('\n');
    const context = await writeContext({ Dockerfile: dockerfile });
    await buildOk(store, ['-t', 'meta:1', '--label', 'built.by=tests', '--label', 'version=2.0', context]);
    image = await inspect(store, 'meta:1');
    rootfs = await unpack(store, 'meta:1');
  });

  it('sets ENV in both forms, expanding earlier values', () => {
    expect(image.Config.Env).toEqual([`PATH=${BUSYBOX_PATH}`, 'ONE=1', 'TWO=two words', 'LEGACY=legacy form 1']);
  });

  it('sets the author from MAINTAINER', () => {
    expect(image.Author).toBe('Jane Doe <jane@example.com>');
  });

  it('sets LABELs, with --label added last (and winning)', () => {
    expect(image.Config.Labels).toEqual({ 'org.example.name': 'meta test', version: '2.0', 'built.by': 'tests' });
  });

  it('expands EXPOSE ranges and keeps protocols', () => {
    expect(image.Config.ExposedPorts).toEqual({
      '80/tcp': {},
      '8000/tcp': {},
      '8001/tcp': {},
      '8002/tcp': {},
      '53/udp': {},
    });
  });

  it('collects VOLUMEs from both forms', () => {
    expect(image.Config.Volumes).toEqual({ '/data': {}, '/logs': {}, '/cache': {} });
  });

  it('sets USER, WORKDIR and STOPSIGNAL; WORKDIR creates the directory for that user', async () => {
    expect(image.Config.User).toBe('app:app');
    expect(image.Config.WorkingDir).toBe('/srv/app');
    expect(image.Config.StopSignal).toBe('SIGTERM');
    expect(await pathInfo(rootfs, 'srv/app')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000, gid: 1000 });
  });

  it('sets HEALTHCHECK with its flags in nanoseconds', () => {
    expect(image.Config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'wget -q localhost || exit 1'],
      Interval: 30 * SECOND,
      Timeout: 5 * SECOND,
      StartPeriod: 10 * SECOND,
      Retries: 4,
    });
  });

  it('wraps shell-form CMD in SHELL and keeps a CMD set in the same stage as ENTRYPOINT', () => {
    expect(image.Config.Shell).toEqual(['/bin/sh', '-ec']);
    expect(image.Config.Cmd).toEqual(['/bin/sh', '-ec', 'echo hello']);
    expect(image.Config.Entrypoint).toEqual(['/bin/entry', '--flag']);
  });

  it('resolves the FROM through ARGs declared before it', async () => {
    const base = await inspect(store, 'busybox:latest');
    expect(image.RootFS.Layers[0]).toBe(base.RootFS.Layers[0]);
  });

  it('adds only the WORKDIR directory as a layer; every other instruction is an empty history entry', () => {
    expect(image.RootFS.Layers).toHaveLength(2);
    const added = image.History.slice(1);
    expect(added.map((entry) => entry.created_by?.split(' ')[0])).toEqual([
      'MAINTAINER',
      'ENV',
      'ENV',
      'LABEL',
      'EXPOSE',
      'VOLUME',
      'VOLUME',
      'USER',
      'WORKDIR',
      'STOPSIGNAL',
      'HEALTHCHECK',
      'SHELL',
      'CMD',
      'ENTRYPOINT',
    ]);
    expect(added.filter((entry) => !entry.empty_layer).map((entry) => entry.created_by)).toEqual(['WORKDIR /srv/app']);
  });
});

describe('CMD, ENTRYPOINT and HEALTHCHECK against the base image', () => {
  it('drops an inherited CMD when ENTRYPOINT is set, and wraps shell forms in /bin/sh -c', async () => {
    await buildDockerfile(store, 'entry:1', 'FROM busybox\nENTRYPOINT echo hi\n');
    const image = await inspect(store, 'entry:1');
    expect(image.Config.Entrypoint).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(image.Config.Cmd ?? null).toBeNull();
  });

  it('keeps the inherited CMD without ENTRYPOINT, and sets exec-form CMD as written', async () => {
    await buildDockerfile(store, 'cmd:1', 'FROM busybox\nLABEL a=b\n');
    expect((await inspect(store, 'cmd:1')).Config.Cmd).toEqual(['sh']);
    await buildDockerfile(store, 'cmd:2', 'FROM busybox\nCMD ["echo", "$HOME"]\n');
    expect((await inspect(store, 'cmd:2')).Config.Cmd).toEqual(['echo', '$HOME']);
  });

  it('disables a health check with HEALTHCHECK NONE', async () => {
    await buildDockerfile(store, 'health:none', 'FROM busybox\nHEALTHCHECK NONE\n');
    expect((await inspect(store, 'health:none')).Config.Healthcheck).toEqual({ Test: ['NONE'] });
  });
});

describe('ONBUILD', () => {
  it('stores triggers in the parent and runs them in a child, whose OnBuild is empty', async () => {
    await buildDockerfile(
      store,
      'onbuild:parent',
      'FROM busybox\nONBUILD RUN echo triggered > /triggered\nONBUILD COPY trigger.txt /trigger.txt\n',
    );
    const parent = await inspect(store, 'onbuild:parent');
    expect(parent.Config.OnBuild).toEqual(['RUN echo triggered > /triggered', 'COPY trigger.txt /trigger.txt']);
    expect(parent.RootFS.Layers).toHaveLength(1);
    expect(await pathInfo(await unpack(store, 'onbuild:parent'), 'triggered')).toBeUndefined();

    const child = 'FROM onbuild:parent\nRUN cat /triggered /trigger.txt > /seen\n';
    await buildDockerfile(store, 'onbuild:child', child, { 'trigger.txt': 'from the child context\n' });
    const image = await inspect(store, 'onbuild:child');
    expect(image.Config.OnBuild ?? []).toEqual([]);
    // The parent's base layer, one per trigger (RUN, COPY) and the child's RUN.
    expect(image.RootFS.Layers).toHaveLength(4);
    const rootfs = await unpack(store, 'onbuild:child');
    expect(await readIn(rootfs, 'seen')).toBe('triggered\nfrom the child context\n');
  });
});

describe('choosing the Dockerfile and the stage', () => {
  const multiStage = [
    'FROM busybox AS first',
    'RUN echo first > /stage',
    'FROM busybox AS second',
    'RUN echo second > /stage',
    'FROM first',
    'RUN echo final > /final',
    '',
  ].join('\n');

  it('builds only what --target needs', async () => {
    const context = await writeContext({ Dockerfile: multiStage });
    const result = await buildOk(store, ['-t', 'target:second', '--target', 'second', context]);
    expect(result.stderr).not.toMatch(/\[first /);
    const rootfs = await unpack(store, 'target:second');
    expect(await readIn(rootfs, 'stage')).toBe('second\n');
    expect(await pathInfo(rootfs, 'final')).toBeUndefined();
    expect((await inspect(store, 'target:second')).RootFS.Layers).toHaveLength(2);
  });

  it('builds the last stage by default', async () => {
    const context = await writeContext({ Dockerfile: multiStage });
    const result = await buildOk(store, ['-t', 'target:last', context]);
    expect(result.stderr).toMatch(/\[first /);
    expect(result.stderr).not.toMatch(/\[second /);
    const rootfs = await unpack(store, 'target:last');
    expect(await readIn(rootfs, 'stage')).toBe('first\n');
    expect(await readIn(rootfs, 'final')).toBe('final\n');
  });

  it('reads a Dockerfile from elsewhere with -f, and its <name>.dockerignore beside it', async () => {
    const context = await writeContext({
      '.dockerignore': 'other.txt\n',
      'kept.txt': 'kept\n',
      'other.txt': 'only the general ignore file drops me\n',
      'secret.txt': 'the specific ignore file drops me\n',
    });
    const dockerfiles = await tempDir('dockerfiles');
    const dockerfile = path.join(dockerfiles, 'app.Dockerfile');
    await writeFile(dockerfile, 'FROM busybox\nCOPY . /ctx/\n');
    await writeFile(`${dockerfile}.dockerignore`, 'secret.txt\n');
    await buildOk(store, ['-t', 'file:named', '-f', dockerfile, context]);
    const rootfs = await unpack(store, 'file:named');
    expect(await readIn(rootfs, 'ctx/kept.txt')).toBe('kept\n');
    expect(await readIn(rootfs, 'ctx/other.txt')).toBe('only the general ignore file drops me\n');
    expect(await pathInfo(rootfs, 'ctx/secret.txt')).toBeUndefined();
    expect(await pathInfo(rootfs, 'ctx/app.Dockerfile')).toBeUndefined();
  });

  it('reads a Dockerfile that .dockerignore excludes, which COPY . then leaves out', async () => {
    const context = await writeContext({
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
      '.dockerignore': 'Dockerfile\n.dockerignore\n*.tmp\n!keep.tmp\n',
      'app.txt': 'app\n',
      'drop.tmp': 'drop\n',
      'keep.tmp': 'keep\n',
    });
    await buildOk(store, ['-t', 'file:ignored', context]);
    const rootfs = await unpack(store, 'file:ignored');
    expect((await readdir(path.join(rootfs, 'ctx'))).sort()).toEqual(['app.txt', 'keep.tmp']);
  });

  it('reads the Dockerfile from stdin with -f -', async () => {
    const context = await writeContext({ 'in.txt': 'from the context\n' });
    await buildOk(store, ['-t', 'file:stdin', '-f', '-', context], {
      input: 'FROM busybox\nCOPY in.txt /in.txt\nENV FROM_STDIN=yes\n',
    });
    const image = await inspect(store, 'file:stdin');
    expect(image.Config.Env).toContain('FROM_STDIN=yes');
    expect(await readIn(await unpack(store, 'file:stdin'), 'in.txt')).toBe('from the context\n');
  });
});
