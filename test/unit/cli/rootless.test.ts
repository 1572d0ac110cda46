/**
 * The pure parts of rootless mode: reading /etc/subuid, the unshare argv, the one-line messages,
 * user-namespace detection and the overlay / OCI spec choices it drives.
 */
import { describe, expect, it } from 'vitest';
import {
  namespaceFailure,
  needsNamespace,
  planRootless,
  subordinateRange,
  userStoreRoot,
} from '../../../cli/rootless.js';
import { buildOciSpec } from '../../../runners/oci/oci-spec.js';
import { overlayFeatureOptions } from '../../../sys/overlay-options.js';
import { isMappedUidMap } from '../../../sys/userns.js';

const alice = { name: 'alice', uid: 1500 };

describe('subordinateRange', () => {
  it('finds the first range by name or by uid', () => {
    const text = 'bob:100000:65536\nalice:165536:65536\nalice:300000:10\n';
    expect(subordinateRange(text, alice)).toEqual({ start: 165536, count: 65536 });
    expect(subordinateRange('1500:200000:1000\n', alice)).toEqual({ start: 200000, count: 1000 });
  });

  it('ignores other users, empty files and broken or empty ranges', () => {
    expect(subordinateRange('', alice)).toBeUndefined();
    expect(subordinateRange('alicex:1:2\nbob:100000:65536\n', alice)).toBeUndefined();
    expect(subordinateRange('alice:x:65536\nalice:100000:0\n', alice)).toBeUndefined();
  });
});

describe('planRootless', () => {
  it('maps only the user to root when it has no subordinate ids', () => {
    const plan = planRootless(['/usr/bin/node', 'bin/tzbuild', 'build', '.'], {
      name: 'no-such-user-tzb',
      uid: 4_000_000_000,
    });
    expect(plan.subordinate).toBeUndefined();
    const unshareAt = plan.argv.findIndex((arg) => arg.endsWith('/unshare'));
    expect(plan.argv.slice(0, 3)).toEqual([expect.stringMatching(/\/setpriv$/), '--pdeathsig', 'TERM']);
    expect(plan.argv.slice(unshareAt + 1, plan.argv.indexOf('--'))).toEqual(['--user', '--mount', '--map-root-user']);
    expect(plan.argv.slice(-4)).toEqual(['/usr/bin/node', 'bin/tzbuild', 'build', '.']);
  });
});

describe('needsNamespace', () => {
  it('is false for root, for the re-executed process and for commands without a store', () => {
    const asRoot = process.getuid?.() === 0;
    expect(needsNamespace(['build', '.'], {})).toBe(!asRoot);
    expect(needsNamespace(['build', '.'], { TZBUILD_ROOTLESS: '1' })).toBe(false);
    for (const args of [['parse'], ['--help'], ['-V'], ['help', 'build']]) expect(needsNamespace(args, {})).toBe(false);
  });
});

describe('messages', () => {
  it('turns unshare and newuidmap output into one line with what to check', () => {
    const output = 'newuidmap: uid range [1-65537) -> [100000-165536) not allowed\nunshare: newuidmap failed\n';
    const message = namespaceFailure(output, {
      subordinate: { uids: { start: 100000, count: 65536 }, gids: { start: 100000, count: 65536 } },
    });
    expect(message).toBe(
      'rootless mode: cannot create a user namespace (newuidmap: uid range [1-65537) -> [100000-165536) not allowed; ' +
        'unshare: newuidmap failed); check the ranges in /etc/subuid and /etc/subgid and that newuidmap/newgidmap ' +
        'are setuid root',
    );
    expect(namespaceFailure('unshare: unshare failed: Operation not permitted\n', {})).toMatch(
      new RegExp(
        '^rootless mode: cannot create a user namespace \\(unshare: unshare failed: Operation not permitted\\); ' +
          'the host may forbid unprivileged user namespaces',
      ),
    );
    expect(namespaceFailure('a\nb', {})).not.toContain('\n');
  });
});

describe('userStoreRoot', () => {
  it('is $TZBUILD_ROOT, else $XDG_DATA_HOME/tzbuild, else ~/.local/share/tzbuild', () => {
    expect(userStoreRoot({ TZBUILD_ROOT: '/srv/s', XDG_DATA_HOME: '/x' })).toBe('/srv/s');
    expect(userStoreRoot({ XDG_DATA_HOME: '/x/data' })).toBe('/x/data/tzbuild');
    expect(userStoreRoot({})).toMatch(/\/\.local\/share\/tzbuild$/);
  });
});

describe('user namespace detection and what it changes', () => {
  it('reads the identity uid_map as the host namespace and anything else as a user namespace', () => {
    expect(isMappedUidMap('         0          0 4294967295\n')).toBe(false);
    expect(isMappedUidMap('         0       1001          1\n')).toBe(true);
    expect(isMappedUidMap('0 1001 1\n1 100000 65536\n')).toBe(true);
  });

  it('mounts overlay with userxattr and without redirect following in a user namespace', () => {
    expect(overlayFeatureOptions(false)).toBe('redirect_dir=off,metacopy=off,index=off');
    expect(overlayFeatureOptions(true)).toBe('redirect_dir=nofollow,metacopy=off,index=off,userxattr');
  });

  it('binds the host /sys read-only instead of mounting sysfs when rootless on the host network', () => {
    const spec = {
      args: ['true'],
      env: [],
      cwd: '/',
      uid: 0,
      gid: 0,
      lowerdirs: ['/l'],
      upperdir: '/u',
      workdir: '/w',
    };
    const sys = (rootless: boolean, network: 'host' | 'none') => {
      const config = buildOciSpec(spec, { rootfs: '/r' }, { hostname: 'h', network, rootless }) as {
        mounts: { destination: string; type: string }[];
      };
      return config.mounts.find((mount) => mount.destination === '/sys')?.type;
    };
    expect(sys(true, 'host')).toBe('bind');
    expect(sys(true, 'none')).toBe('sysfs');
    expect(sys(false, 'host')).toBe('sysfs');
  });
});
