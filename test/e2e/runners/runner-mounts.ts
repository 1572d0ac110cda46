/**
 * The mount half of the shared runner suite (RunSpec.mounts): every runner must give the step the
 * same binds, views and tmpfs mounts, with no mountpoint ever reaching the upperdir. Registered
 * from runner-suite.ts, so the namespace runner, runc and crun all run it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { RunMount, Runner } from '../../../core/ports.js';
import { busyboxRootfs } from '../../helpers/busybox.js';
import { listMounts, mountsUnder } from '../../helpers/mounts.js';
import { runStep, stepScratchRoot } from '../../helpers/run-step.js';

/** What the mount cases need from the surrounding suite. */
export interface MountSuiteContext {
  runner(): Promise<Runner>;
  /** The runner's tmpRoot (must be empty and unmounted after each step). */
  tmpRoot(): string;
}

/** A fresh host dir under the step scratch root holding `files`. */
async function hostDir(files: Record<string, string>): Promise<string> {
  const dir = path.join(await stepScratchRoot(), `src-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/** Registers the mount cases (inside the suite's describe block). */
export function registerMountCases(suite: MountSuiteContext): void {
  const run = async (script: string, mounts: RunMount[], overrides: Parameters<typeof runStep>[2] = {}) => {
    const step = await runStep(await suite.runner(), ['sh', '-c', script], { mounts, ...overrides });
    expect(await mountsUnder(suite.tmpRoot())).toEqual([]);
    expect(await readdir(suite.tmpRoot())).toEqual([]);
    return step;
  };

  it('binds a host dir read-only at a missing target, which stays out of the layer', async () => {
    const source = await hostDir({ 'a.txt': 'from host\n' });
    const step = await run('cat /mnt/src/deep/a.txt; touch /mnt/src/deep/b 2>/dev/null && echo wrote || echo denied', [
      { kind: 'bind', source, target: '/mnt/src/deep', readonly: true },
    ]);
    expect(step.result).toEqual({ exitCode: 0 });
    expect(step.stdout).toBe('from host\ndenied\n');
    expect(await readdir(step.upperdir)).toEqual([]);
    expect(await readdir(source)).toEqual(['a.txt']);
    expect((await listMounts()).filter((mount) => mount.root.includes(path.basename(source)))).toEqual([]);
  });

  it('lets a writable bind write through to the host dir (cache mounts)', async () => {
    const source = await hostDir({});
    const step = await run('echo kept > /cache/file', [{ kind: 'bind', source, target: '/cache', readonly: false }]);
    expect(step.result).toEqual({ exitCode: 0 });
    expect(await readFile(path.join(source, 'file'), 'utf8')).toBe('kept\n');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('discards writes to a rw bind with discardWrites, file or directory', async () => {
    const source = await hostDir({ 'keep.txt': 'original\n', 'single.txt': 'one\n' });
    const mounts: RunMount[] = [
      { kind: 'bind', source, target: '/src', readonly: false, discardWrites: true },
      {
        kind: 'bind',
        source: path.join(source, 'single.txt'),
        target: '/single.txt',
        readonly: false,
        discardWrites: true,
      },
    ];
    const step = await run(
      'echo changed > /src/keep.txt; echo new > /src/new.txt; echo two >> /single.txt; cat /src/keep.txt /single.txt',
      mounts,
    );
    expect(step.stdout).toBe('changed\none\ntwo\n');
    expect(await readFile(path.join(source, 'keep.txt'), 'utf8')).toBe('original\n');
    expect(await readFile(path.join(source, 'single.txt'), 'utf8')).toBe('one\n');
    expect((await readdir(source)).sort()).toEqual(['keep.txt', 'single.txt']);
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('binds a read-only file (a secret) with its mode and owner', async () => {
    const source = await hostDir({ secret: 's3cr3t' });
    await chmod(path.join(source, 'secret'), 0o400);
    const step = await run(
      'cat /run/secrets/token; echo; stat -c "%a %u" /run/secrets/token; echo x > /run/secrets/token || echo denied',
      [{ kind: 'bind', source: path.join(source, 'secret'), target: '/run/secrets/token', readonly: true }],
    );
    expect(step.stdout).toBe('s3cr3t\n400 0\ndenied\n');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('mounts a tmpfs, whose files never reach the layer', async () => {
    const step = await run('echo t > /scratch/f && grep " /scratch " /proc/mounts | cut -d" " -f3,4', [
      { kind: 'tmpfs', target: '/scratch', readonly: false, size: '1m' },
    ]);
    expect(step.result).toEqual({ exitCode: 0 });
    expect(step.stdout).toMatch(/^tmpfs rw,nosuid,nodev,.*size=1024k/);
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('shows a subpath of layered snapshots read-only, or writable with writes discarded', async () => {
    const lower = await hostDir({ 'app/one': 'lower\n', 'app/two': 'lower two\n' });
    const upper = await hostDir({ 'app/one': 'upper\n' });
    const layers = { kind: 'layers' as const, lowerdirs: [lower, upper], subpath: 'app' };
    const step = await run(
      'cat /ro/one /ro/two; touch /ro/x 2>/dev/null || echo denied; echo w > /rw/one; cat /rw/one',
      [
        { ...layers, target: '/ro', readonly: true },
        { ...layers, target: '/rw', readonly: false, discardWrites: true },
      ],
    );
    expect(step.stdout).toBe('upper\nlower two\ndenied\nw\n');
    expect(await readFile(path.join(upper, 'app/one'), 'utf8')).toBe('upper\n');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('runs an executable bound under /dev (heredoc scripts)', async () => {
    const source = await hostDir({ script: '#!/bin/sh\necho "script ran as $0"\n' });
    await chmod(path.join(source, 'script'), 0o755);
    const step = await runStep(await suite.runner(), ['/dev/pipes/script'], {
      mounts: [{ kind: 'bind', source, target: '/dev/pipes', readonly: true }],
    });
    expect(step.result).toEqual({ exitCode: 0 });
    expect(step.stdout).toBe('script ran as /dev/pipes/script\n');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('follows image symlinks to the target and keeps existing parents exactly as in the image', async () => {
    const layer = await hostDir({});
    await symlink('/opt/real', path.join(layer, 'link'));
    const imageEtc = await stat(path.join(await busyboxRootfs(), 'etc'));
    const source = await hostDir({ f: 'via link\n' });
    const step = await run(
      'cat /opt/real/x/f; ls -ld /link | cut -c1; touch /etc/added',
      [
        { kind: 'bind', source, target: '/link/x', readonly: true },
        { kind: 'tmpfs', target: '/etc/conf.d/sub', readonly: false },
      ],
      { lowerdirs: [await busyboxRootfs(), layer] },
    );
    expect(step.stdout).toBe('via link\nl\n');
    expect((await readdir(step.upperdir)).sort()).toEqual(['etc']);
    expect(await readdir(path.join(step.upperdir, 'etc'))).toEqual(['added']);
    const copiedUp = await lstat(path.join(step.upperdir, 'etc'));
    expect({ mode: copiedUp.mode, uid: copiedUp.uid, gid: copiedUp.gid }).toEqual({
      mode: imageEtc.mode,
      uid: imageEtc.uid,
      gid: imageEtc.gid,
    });
  });

  it('refuses mounts over /proc or the root, before starting anything', async () => {
    const failing = runStep(await suite.runner(), ['true'], {
      mounts: [{ kind: 'tmpfs', target: '/proc/x', readonly: false }],
    });
    await expect(failing).rejects.toMatchObject({ code: 'RUNNER_SPEC' });
    expect(await readdir(suite.tmpRoot())).toEqual([]);
  });
}
