import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../core/errors.js';
import {
  assertMountablePath,
  checkLowerdirCount,
  linkLowerdirs,
  lowerdirValue,
  relativeLowerdirs,
  RELATIVE_LOWERDIRS_BUDGET,
  unlinkLowerdirs,
} from '../../../sys/overlay-options.js';

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
    await unlinkLowerdirs(links);
    expect(await readdir(links)).toEqual([]);
    expect((await lstat(links)).isDirectory()).toBe(true);
  });

  it("names the lowerdirs relative to the lowest one's dir, top first, when they fit", () => {
    const hex = (n: number) => String(n).repeat(64).slice(0, 64);
    const dirs = [`/store/snapshots/${hex(1)}`, `/store/snapshots/${hex(2)}`, '/store/tmp/9.9/run/init'];
    expect(relativeLowerdirs(dirs)).toEqual({
      from: '/store/snapshots',
      value: `../tmp/9.9/run/init:${hex(2)}:${hex(1)}`,
    });
    expect(relativeLowerdirs(['/scratch/run/init'])).toEqual({ from: '/scratch/run', value: 'init' });
  });

  it('leaves long chains and unsayable paths to links', () => {
    const layers = (count: number) =>
      Array.from({ length: count }, (_, i) => `/store/snapshots/${String(i).padStart(64, '0')}`);
    // 47 layers of 64-hex names fit the budget, a 48th does not.
    expect(relativeLowerdirs(layers(47))?.value.length).toBeLessThanOrEqual(RELATIVE_LOWERDIRS_BUDGET);
    expect(relativeLowerdirs(layers(48))).toBeUndefined();
    expect(relativeLowerdirs(['/s/a', '/s/b:c'])).toBeUndefined();
    expect(relativeLowerdirs(['/s/a', '/s/b,c'])).toBeUndefined();
  });

  it('keeps a 400-layer chain under the one-page option limit', () => {
    expect(`lowerdir=${lowerdirValue(400)}`.length).toBeLessThan(4096);
  });

  it('refuses more layers than overlayfs can stack', () => {
    const many = Array.from({ length: 501 }, (_, i) => `/s/${i}`);
    expect(() => linkLowerdirs(path.join(scratch, 'too-many'), many)).toThrow(UserError);
    expect(() => checkLowerdirCount(many)).toThrow(/limit of 500/);
  });

  it('rejects upper/work paths the option parser would split', () => {
    expect(() => assertMountablePath('/s/a,b', 'upperdir')).toThrow(UserError);
    expect(() => assertMountablePath('/s/a:b', 'upperdir')).not.toThrow();
  });
});
