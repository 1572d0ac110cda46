/**
 * RUN --mount end to end through `bin/tzbuild`, under the default runner and the namespace runner:
 * cache mounts persist and stay out of the image, `sharing=locked` serialises parallel stages,
 * secrets are readable but never in a layer, a key, the history or the output, binds are
 * read-only (rw writes discarded) and keyed on their content, tmpfs works, ssh is refused, and a
 * `#!` heredoc runs as a script.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canRunPrivileged } from '../../helpers/host.js';
import { mountsUnder } from '../../helpers/mounts.js';
import { tmpLeftovers } from './leftovers.js';
import {
  blobPath,
  build,
  buildOk,
  cli,
  inspect,
  layerNames,
  loadedStore,
  manifestOf,
  readIn,
  tempDir,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';

const enabled = await canRunPrivileged();

/** Nothing of any step may stay mounted under the store, nor in its tmp dir (kept step logs aside). */
async function expectStoreClean(store: string): Promise<void> {
  expect(await mountsUnder(store)).toEqual([]);
  expect(await tmpLeftovers(store)).toEqual([]);
}

/** Every byte of every layer blob of `tag`, to look for what must not be there. */
async function layerBytes(store: string, tag: string): Promise<Buffer> {
  const manifest = await manifestOf(store, tag);
  return Buffer.concat(await Promise.all(manifest.layers.map((layer) => readFile(blobPath(store, layer.digest)))));
}

describe.skipIf(!enabled).each(['auto', 'namespaces'])('RUN --mount with --runner %s', (runner) => {
  let store: string;
  const run = (args: string[]) => build(store, ['--runner', runner, ...args]);
  const runOk = (args: string[]) => buildOk(store, ['--runner', runner, ...args]);

  beforeAll(async () => {
    store = await loadedStore();
  });

  it('keeps a cache mount between builds and out of the image', async () => {
    const context = await writeContext({
      Dockerfile:
        "FROM busybox\nARG BUST\nRUN --mount=type=cache,target=/var/cache/app sh -c 'echo $BUST >> " +
        "/var/cache/app/log; wc -l < /var/cache/app/log > /count'\n",
    });
    await runOk(['--build-arg', 'BUST=1', '-t', 'cache:1', context]);
    await runOk(['--build-arg', 'BUST=2', '-t', 'cache:2', context]);
    expect((await readIn(await unpack(store, 'cache:1'), 'count')).trim()).toBe('1');
    const rootfs = await unpack(store, 'cache:2');
    expect((await readIn(rootfs, 'count')).trim()).toBe('2');
    expect(await readdir(rootfs)).not.toContain('var');
    expect(await layerNames(store, 'cache:2')).toEqual(['count']);
    await expectStoreClean(store);
  });

  it('serialises parallel stages on a sharing=locked cache, and not on a shared one', async () => {
    const stage = (name: string, sharing: string) =>
      `FROM busybox AS ${name}\nRUN --mount=type=cache,id=order-${sharing},target=/c,sharing=${sharing} sh -c 'echo ` +
      `start ${name} >> /c/log; sleep 1.5; echo end ${name} >> /c/log'\n`;
    const log = async (sharing: string): Promise<string[]> => {
      const dockerfile =
        `${stage('one', sharing)}${stage('two', sharing)}FROM busybox\nCOPY --from=one /etc/passwd /one\nCOPY ` +
        `--from=two /etc/passwd /two\n` +
        `RUN --mount=type=cache,id=order-${sharing},target=/c cp /c/log /log\n`;
      await runOk(['-t', `order:${sharing}`, await writeContext({ Dockerfile: dockerfile })]);
      return (await readIn(await unpack(store, `order:${sharing}`), 'log')).trim().split('\n');
    };
    const locked = await log('locked');
    expect(locked).toHaveLength(4);
    // Each stage's start is followed by its own end: no overlap.
    expect(locked[1]).toBe(locked[0]!.replace('start', 'end'));
    expect(locked[3]).toBe(locked[2]!.replace('start', 'end'));
    const shared = await log('shared');
    expect(shared.slice(0, 2).every((line) => line.startsWith('start'))).toBe(true);
    await expectStoreClean(store);
  });

  it('gives a secret to the step only: not in layers, history, inspect, output or the cache key', async () => {
    const value = `tzb-secret-${runner}-${Date.now()}`;
    const dir = await tempDir('secret');
    const file = path.join(dir, 'token');
    await writeFile(file, value);
    const dockerfile = [
      'FROM busybox',
      "RUN --mount=type=secret,id=token,required sh -c 'sha256sum /run/secrets/token | cut -c1-64 > /sum; stat -c %a " +
        "/run/secrets/token > /mode'",
      "RUN --mount=type=secret,id=token,env=TOKEN,required sh -c 'echo ${#TOKEN} > /length; ls /run/secrets > " +
        "/listing 2>&1 || true'",
    ].join('\n');
    const context = await writeContext({ Dockerfile: `${dockerfile}\n` });
    const first = await runOk(['--secret', `id=token,src=${file}`, '-t', 'secret:1', context]);
    const rootfs = await unpack(store, 'secret:1');
    expect(await readIn(rootfs, 'sum')).toBe(`${createHash('sha256').update(value).digest('hex')}\n`);
    expect(await readIn(rootfs, 'mode')).toBe('400\n');
    expect(await readIn(rootfs, 'length')).toBe(`${value.length}\n`);
    expect(await readIn(rootfs, 'listing')).toMatch(/No such file or directory/);
    expect(await readdir(rootfs)).not.toContain('run');
    expect((await layerBytes(store, 'secret:1')).includes(value)).toBe(false);
    const shown = [
      first.stdout,
      first.stderr,
      await cli(store, ['history', '--no-trunc', 'secret:1']),
      await cli(store, ['inspect', 'secret:1']),
    ].join('\n');
    expect(shown).toContain('--mount=type=secret,id=token');
    expect(shown).not.toContain(value);
    // A new value changes no key: both steps are cached and the image is the same.
    await writeFile(file, `${value}-rotated`);
    const again = await runOk(['--secret', `id=token,src=${file}`, '--progress', 'json', '-t', 'secret:2', context]);
    const events = again.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string });
    expect(events.filter((event) => event.type === 'step.cached')).toHaveLength(2);
    expect((await inspect(store, 'secret:2')).Id).toBe((await inspect(store, 'secret:1')).Id);
    await expectStoreClean(store);
  });

  it('fails clearly when a required secret is missing', async () => {
    const context = await writeContext({
      Dockerfile: 'FROM busybox\n\nRUN --mount=type=secret,id=npmrc,required cat /run/secrets/npmrc\n',
    });
    const failed = await run([context]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/Dockerfile:3: secret "npmrc" is required but was not given/);
  });

  it('binds the context read-only, discards rw writes, hides ignored files and keys on content', async () => {
    const context = await writeContext({
      'data/a': 'one\n',
      'data/ignored': 'hidden\n',
      '.dockerignore': 'data/ignored\n',
      Dockerfile: `${[
        'FROM busybox',
        "RUN --mount=type=bind,source=data,target=/data sh -c 'cat /data/a > /a; ls /data > /listing; touch " +
          "/data/new 2>/dev/null || echo ro > /ro'",
        "RUN --mount=type=bind,target=/ctx,rw sh -c 'echo changed > /ctx/data/a && cat /ctx/data/a > /rw'",
      ].join('\n')}\n`,
    });
    await runOk(['-t', 'bind:1', context]);
    const rootfs = await unpack(store, 'bind:1');
    expect(await readIn(rootfs, 'a')).toBe('one\n');
    expect(await readIn(rootfs, 'listing')).toBe('a\n');
    expect(await readIn(rootfs, 'ro')).toBe('ro\n');
    expect(await readIn(rootfs, 'rw')).toBe('changed\n');
    expect(await readFile(path.join(context, 'data/a'), 'utf8')).toBe('one\n');
    expect((await readdir(path.join(context, 'data'))).sort()).toEqual(['a', 'ignored']);
    expect(await readdir(rootfs)).not.toContain('data');
    await writeFile(path.join(context, 'data/a'), 'two\n');
    const rebuilt = await runOk(['-t', 'bind:2', context]);
    expect(rebuilt.stderr).toMatch(/cache miss: changed: file data\/a \(content\)/);
    expect(await readIn(await unpack(store, 'bind:2'), 'a')).toBe('two\n');
    await expectStoreClean(store);
  });

  it('binds files from another stage, read-only unless rw (writes discarded)', async () => {
    const context = await writeContext({
      Dockerfile: `${[
        'FROM busybox AS tools',
        'RUN mkdir -p /opt/tool && echo v1 > /opt/tool/version && ln -s /opt/tool /tool-link',
        'FROM busybox',
        "RUN --mount=type=bind,from=tools,source=/tool-link,target=/t sh -c 'cat /t/version > /version; echo x > " +
          "/t/new 2>/dev/null || echo ro > /ro'",
        "RUN --mount=type=bind,from=tools,source=/opt,target=/o,rw sh -c 'echo v2 > /o/tool/version; cat " +
          "/o/tool/version > /rw'",
        'RUN --mount=type=bind,from=tools,source=/opt,target=/o cat /o/tool/version > /after',
      ].join('\n')}\n`,
    });
    await runOk(['-t', 'stagebind:1', context]);
    const rootfs = await unpack(store, 'stagebind:1');
    expect(await readIn(rootfs, 'version')).toBe('v1\n');
    expect(await readIn(rootfs, 'ro')).toBe('ro\n');
    expect(await readIn(rootfs, 'rw')).toBe('v2\n');
    expect(await readIn(rootfs, 'after')).toBe('v1\n');
    expect((await readdir(rootfs)).filter((name) => ['t', 'o'].includes(name))).toEqual([]);
    await expectStoreClean(store);
  });

  it('mounts a tmpfs whose files stay out of the layer', async () => {
    const context = await writeContext({
      Dockerfile:
        'FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=2m sh -c \'echo x > /scratch/f && grep " /scratch ' +
        '" /proc/mounts | cut -d" " -f3 > /fstype\'\n',
    });
    await runOk(['-t', 'tmpfs:1', context]);
    expect(await layerNames(store, 'tmpfs:1')).toEqual(['fstype']);
    expect(await readIn(await unpack(store, 'tmpfs:1'), 'fstype')).toBe('tmpfs\n');
  });

  it('refuses ssh mounts with the line', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nRUN --mount=type=ssh git clone x\n' });
    const failed = await run([context]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/Dockerfile:2: RUN --mount=type=ssh is not supported/);
  });

  it('runs a #! heredoc as a script, read-only and outside the layer', async () => {
    const context = await writeContext({
      Dockerfile:
        'FROM busybox\nRUN <<EOF\n#!/bin/sh -e\necho "ran $0 as $(id -u)" > /out\necho x > "$0" 2>/dev/null || echo ' +
        'ro >> /out\nEOF\n',
    });
    await runOk(['-t', 'script:1', context]);
    expect(await layerNames(store, 'script:1')).toEqual(['out']);
    expect(await readIn(await unpack(store, 'script:1'), 'out')).toBe('ran /dev/pipes/EOF as 0\nro\n');
  });
});
