/**
 * readFileFromLayers against the kernel: the same snapshots mounted as a real read-only overlay
 * must show the same content for every path (whiteouts, opaque dirs, replaced dirs, symlinks
 * relative and absolute, links pointing out of the root).
 */
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setAttribute } from '@napi-rs/xattr';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markLayerFrozen, readFileFromLayers, topmostEntry } from '../../../layers/layered-read.js';
import { resolveInRoot } from '../../../builder/rootfs.js';
import { resolveRunUser } from '../../../builder/users.js';
import { layeredView } from '../../../store/snapshot-views.js';
import { canRunPrivileged } from '../../helpers/host.js';

const enabled = await canRunPrivileged();

describe.skipIf(!enabled)('readFileFromLayers', () => {
  let dir: string;
  let layers: string[];
  let view: string;

  async function put(layer: string, rel: string, content: string): Promise<void> {
    await mkdir(path.dirname(path.join(layer, rel)), { recursive: true });
    await writeFile(path.join(layer, rel), content);
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tzb-layered-'));
    layers = ['l0', 'l1', 'l2'].map((name) => path.join(dir, name));
    const [l0, l1, l2] = layers as [string, string, string];
    await Promise.all(layers.map((layer) => mkdir(layer)));
    await put(l0, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    await put(l0, 'etc/group', 'root:x:0:\n');
    await put(l0, 'opaque/old', 'old\n');
    await put(l0, 'gone/file', 'gone\n');
    await put(l0, 'replaced/file', 'dir\n');
    await put(l0, 'kept', 'l0\n');
    await put(l0, 'real/target', 'target\n');
    await symlink('/real', path.join(l0, 'abs-link'));
    await symlink('../../real/target', path.join(l0, 'escaping'));
    await put(l1, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n');
    await put(l1, 'opaque/new', 'new\n');
    await setAttribute(path.join(l1, 'opaque'), 'trusted.overlay.opaque', 'y');
    await execa('mknod', [path.join(l1, 'gone'), 'c', '0', '0']);
    await put(l1, 'replaced', 'now a file\n');
    await put(l2, 'etc/group', 'root:x:0:\nstaff:x:50:\n');
    await symlink('etc', path.join(l2, 'etc-link'));
    view = path.join(dir, 'view');
    await mkdir(view);
    await execa('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[...layers].reverse().join(':')}`, view]);
  });

  afterAll(async () => {
    await execa('umount', [view], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  it('shows what the kernel overlay shows, path by path', async () => {
    const paths = [
      '/etc/passwd',
      '/etc/group',
      '/opaque/new',
      '/opaque/old',
      '/gone/file',
      '/replaced',
      '/replaced/file',
      '/kept',
      '/abs-link/target',
      '/escaping',
      '/etc-link/passwd',
      '/etc-link/../kept',
      '/missing',
      '/',
    ];
    for (const file of paths) {
      const kernel = await readFile(await resolveInRoot(view, file)).then(
        (data) => data.toString(),
        () => undefined,
      );
      const ours = (await readFileFromLayers(layers, file))?.toString();
      expect({ file, content: ours }).toEqual({ file, content: kernel });
    }
  });

  it('a layered view stats and resolves every path as the kernel view does', async () => {
    const ours = layeredView(layers);
    const paths = [
      '/etc',
      '/etc/passwd',
      '/opaque',
      '/opaque/old',
      '/gone',
      '/gone/file',
      '/replaced',
      '/replaced/file',
      '/abs-link',
      '/abs-link/target',
      '/escaping',
      '/etc-link',
      '/etc-link/../kept',
      '/missing/deeper',
      '/',
    ];
    for (const file of paths) {
      const host = await resolveInRoot(view, file);
      const kernel = await lstat(host).then(
        (info) => ({ mode: info.mode, uid: info.uid, size: info.isDirectory() ? 0 : info.size }),
        () => undefined,
      );
      const stats = await ours.stat(file);
      const mine = stats && { mode: stats.mode, uid: stats.uid, size: stats.isDirectory() ? 0 : stats.size };
      expect({ file, stat: mine, resolved: await ours.resolve(file) }).toEqual({
        file,
        stat: kernel,
        resolved: `/${path.relative(view, host)}`,
      });
    }
  });

  it('resolves users and groups from the top layers', async () => {
    const ours = layeredView(layers);
    const user = (spec: string) => resolveRunUser(ours, spec);
    expect(await user('app')).toEqual({ uid: 1000, gid: 1001, home: '/home/app', additionalGids: [] });
    expect(await user('app:staff')).toEqual({ uid: 1000, gid: 50, home: '/home/app', additionalGids: [] });
    expect(await user('0')).toEqual({ uid: 0, gid: 0, home: '/root', additionalGids: [] });
    await expect(user('nobody')).rejects.toThrow(/unable to find user nobody/);
    expect(await resolveRunUser(layeredView([]), '0')).toEqual({ uid: 0, gid: 0, home: '/', additionalGids: [] });
  });
});

describe('lookups in frozen layers', () => {
  it('are remembered for the process, while a live layer is looked at again', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'tzb-frozen-'));
    try {
      const [frozen, live] = [path.join(root, 'frozen'), path.join(root, 'live')];
      await mkdir(path.join(frozen, 'etc'), { recursive: true });
      await mkdir(path.join(live, 'srv'), { recursive: true });
      await writeFile(path.join(frozen, 'etc/os-release'), 'frozen\n');
      await writeFile(path.join(live, 'srv/data'), 'live\n');
      markLayerFrozen(frozen);
      expect((await topmostEntry([frozen, live], 'etc/os-release'))?.layer).toBe(frozen);
      expect((await topmostEntry([frozen, live], 'srv/data'))?.layer).toBe(live);
      // Nothing changes a real snapshot; here the change shows what was remembered.
      await rm(path.join(frozen, 'etc/os-release'));
      await rm(path.join(live, 'srv/data'));
      expect((await topmostEntry([frozen, live], 'etc/os-release'))?.layer).toBe(frozen);
      expect(await topmostEntry([frozen, live], 'srv/data')).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
