import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { canRunPrivileged } from '../../helpers/host.js';
import { listMounts, mountsUnder, overlayDirsInUse } from '../../helpers/mounts.js';

const privileged = await canRunPrivileged();

describe('mounts helper', () => {
  it('lists the root and /proc mounts of this process', async () => {
    const mounts = await listMounts();
    expect(mounts.find((m) => m.mountPoint === '/')).toBeDefined();
    expect(mounts.find((m) => m.mountPoint === '/proc')?.fsType).toBe('proc');
    expect(new Set(mounts.map((m) => m.id)).size).toBe(mounts.length);
  });

  it.skipIf(!privileged)('decodes escaped mount points and finds mounts under a dir', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-mounts-'));
    const target = path.join(dir, 'with space');
    try {
      await execa('mkdir', [target]);
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tzbuild-test', target]);
      expect(await mountsUnder(dir)).toMatchObject([{ mountPoint: target, fsType: 'tmpfs', source: 'tzbuild-test' }]);
    } finally {
      await execa('umount', [target], { reject: false });
      await rm(dir, { recursive: true, force: true });
    }
    expect(await mountsUnder(dir)).toEqual([]);
  });

  it.skipIf(!privileged)('sees an overlay held by another mount namespace, and its release', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-inuse-test-'));
    for (const sub of ['l', 'u', 'w', 'm']) await mkdir(path.join(dir, sub));
    const mount = `mount -t overlay overlay -o lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w ${dir}/m`;
    const holder = execa(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', `${mount} && echo ready && exec sleep 60`],
      {
        reject: false,
      },
    );
    try {
      await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
      expect(await mountsUnder(dir)).toEqual([]);
      expect(await overlayDirsInUse(`${dir}/u`, `${dir}/w`)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await holder;
    }
    expect(await overlayDirsInUse(`${dir}/u`, `${dir}/w`)).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});
