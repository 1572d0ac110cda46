import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../errors.js';
import { assertMountablePath, linkLowerdirs, lowerdirValue, unlinkLowerdirs } from '../../runners/overlay-options.js';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-overlay-opts-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('overlay lowerdir option', () => {
  it('lists the highest layer first', () => {
    expect(lowerdirValue(1)).toBe('0');
    expect(lowerdirValue(3)).toBe('2:1:0');
  });

  it('links each lowerdir under a short name, lowest first, and removes only the links', async () => {
    const links = path.join(scratch, 'layers');
    const dirs = ['/store/snapshots/sha256:aa', '/store/snapshots/bb', '/tmp/run/init'];
    expect(linkLowerdirs(links, dirs)).toBe('2:1:0');
    expect(await Promise.all(['0', '1', '2'].map((name) => readlink(path.join(links, name))))).toEqual(dirs);
    unlinkLowerdirs(links);
    expect(await readdir(links)).toEqual([]);
    expect((await lstat(links)).isDirectory()).toBe(true);
  });

  it('keeps a 400-layer chain under the one-page option limit', () => {
    expect(`lowerdir=${lowerdirValue(400)}`.length).toBeLessThan(4096);
  });

  it('refuses more layers than overlayfs can stack', () => {
    const many = Array.from({ length: 501 }, (_, i) => `/s/${i}`);
    expect(() => linkLowerdirs(path.join(scratch, 'too-many'), many)).toThrow(UserError);
  });

  it('rejects upper/work paths the option parser would split', () => {
    expect(() => assertMountablePath('/s/a,b', 'upperdir')).toThrow(UserError);
    expect(() => assertMountablePath('/s/a:b', 'upperdir')).not.toThrow();
  });
});
