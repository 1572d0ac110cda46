/**
 * The OCI supervisor warms the kernel's cgroup lock before the runtime needs it (cgroup-prime.ts):
 * which `cgroup.procs` it picks, and that a step's supervisor really writes there while the
 * runtime starts (here a plain file stands in for the cgroup, so the write can be read back).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMounts } from '../../../../sys/mounts.js';
import { primeTarget } from '../../../../runners/oci/cgroup-prime.js';
import { OciRuntimeRunner } from '../../../../runners/oci/oci-runtime.js';
import type { OciRuntimeKind } from '../../../../runners/oci/runtime-binary.js';
import { canRunPrivileged } from '../../../helpers/host.js';
import { runStep } from '../../../helpers/run-step.js';
import { installedRuntime } from '../../../e2e/runners/runtime-install.js';

const hybridMounts = readMounts(
  [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
    '34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
  ].join('\n'),
);

describe('which cgroup.procs warms the lock', () => {
  it('picks our own cgroup in a v1 hierarchy on a hybrid host (crun does not see its cgroup2)', () => {
    const cgroups = [
      '12:cpu,cpuacct:/user.slice',
      '1:name=systemd:/user.slice/session-1.scope',
      '0::/user.slice/session-1.scope',
    ].join('\n');
    expect(primeTarget(cgroups, hybridMounts)).toBe('/sys/fs/cgroup/systemd/user.slice/session-1.scope/cgroup.procs');
  });

  it('uses the cgroup2 hierarchy on a cgroup v2 host', () => {
    const mounts = readMounts('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate');
    expect(primeTarget('0::/system.slice/ci.service\n', mounts)).toBe(
      '/sys/fs/cgroup/system.slice/ci.service/cgroup.procs',
    );
  });

  it('maps a cgroup through a mount of a subtree (a container with the host cgroup path), else gives none', () => {
    const mounts = readMounts('30 23 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw');
    expect(primeTarget('0::/docker/abc/build\n', mounts)).toBe('/sys/fs/cgroup/build/cgroup.procs');
    expect(primeTarget('0::/docker/abc\n', mounts)).toBe('/sys/fs/cgroup/cgroup.procs');
    expect(primeTarget('0::/elsewhere\n', mounts)).toBeUndefined();
    expect(primeTarget('', hybridMounts)).toBeUndefined();
    expect(primeTarget('0::/\n', readMounts(''))).toBeUndefined();
  });
});

const privileged = await canRunPrivileged();

describe.skipIf(!privileged)('the supervisor warms the lock while the runtime starts', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const runtime of ['crun', 'runc'] as OciRuntimeKind[]) {
    it(`writes "0" (the writer itself) to the given cgroup.procs before a ${runtime} step ends`, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-prime-'));
      dirs.push(dir);
      const procs = path.join(dir, 'cgroup.procs');
      await writeFile(procs, '');
      const binary = await installedRuntime(runtime);
      const runner = new OciRuntimeRunner({ runtime, binary, tmpRoot: dir, cgroupPrime: procs });
      const step = await runStep(runner, ['sh', '-c', 'echo ran']);
      expect(step.result.exitCode).toBe(0);
      expect(step.stdout).toBe('ran\n');
      expect(await readFile(procs, 'utf8')).toBe('0\n');
    });
  }

  it('never creates the file when the cgroup is not there', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-prime-'));
    dirs.push(dir);
    const runner = new OciRuntimeRunner({
      runtime: 'crun',
      binary: await installedRuntime('crun'),
      tmpRoot: dir,
      cgroupPrime: path.join(dir, 'gone', 'cgroup.procs'),
    });
    expect((await runStep(runner, ['true'])).result.exitCode).toBe(0);
    await expect(readFile(path.join(dir, 'gone', 'cgroup.procs'))).rejects.toThrow(/ENOENT/);
  });
});
