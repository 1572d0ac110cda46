/** What the runners hand their step helpers, and the status lines they read back. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  initArgv,
  mountLines,
  readStepStatus,
  stepHelperEnv,
  supervisorArgv,
  viewLines,
} from '../../../runners/step-helper-protocol.js';

describe('step helper protocol', () => {
  it('reads the status lines of both runners, split anywhere', async () => {
    const stream = new PassThrough();
    let startedAt = -1;
    let written = 0;
    const status = readStepStatus(stream, () => (startedAt = written));
    for (const chunk of ['star', 'ted\nexi', 't 3\nsignal 9']) {
      stream.write(chunk);
      written++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    stream.end();
    expect(await status).toEqual({ started: true, exitCode: 3, signal: 'SIGKILL' });
    expect(startedAt).toBe(1);
    const failed = new PassThrough();
    failed.end('error: mounting overlay: no such device\nruntime-failed 1\n');
    expect(await readStepStatus(failed)).toEqual({
      started: false,
      error: 'mounting overlay: no such device',
      runtimeFailed: 1,
    });
  });

  it('builds the environment from the fields given, and nothing else', () => {
    const common = {
      helpers: '/h',
      merged: '/m',
      layers: '/l',
      lower: '0:1',
      upper: '/u',
      work: '/w',
      overlayOptions: 'index=off',
      mountViews: [],
    };
    expect(stepHelperEnv({ ...common, etc: '/e', hostname: 'box', mounts: [] })).toEqual({
      PATH: expect.any(String),
      TZB_HELPERS: '/h',
      TZB_MERGED: '/m',
      TZB_LAYERS: '/l',
      TZB_LOWER: '0:1',
      TZB_UPPER: '/u',
      TZB_WORK: '/w',
      TZB_OVERLAY_OPTS: 'index=off',
      TZB_MOUNT_VIEWS: '',
      TZB_ETC: '/e',
      TZB_HOSTNAME: 'box',
      TZB_MOUNTS: '',
    });
    const oci = stepHelperEnv({
      ...common,
      arch: 'x86_64',
      hideCgroup2: undefined,
      cgroupPrime: '/sys/fs/cgroup/x/cgroup.procs',
    });
    expect(Object.keys(oci).filter((name) => !(name in stepHelperEnv(common)))).toEqual([
      'TZB_ARCH',
      'TZB_CGROUP_PRIME',
    ]);
  });

  it('encodes the records and argv the helpers unpack', () => {
    expect(
      viewLines([
        { from: '/f', lowerdirOption: '0:1', view: '/v' },
        { from: '/g', lowerdirOption: '0', upper: '/u', work: '/w', view: '/x' },
      ]),
    ).toBe('/f\t0:1\t-\t-\t/v\n/g\t0\t/u\t/w\t/x');
    expect(
      mountLines([
        { type: 'bind', source: '/s', target: '/t', readonly: true, directory: false, inDev: false, options: [] },
        {
          type: 'tmpfs',
          source: 'tmpfs',
          target: '/dev/t',
          readonly: false,
          directory: true,
          inDev: true,
          options: ['nosuid', 'size=1m'],
        },
      ]),
    ).toBe('bind\t/s\t/t\tro\tfile\timage\ntmpfs\ttmpfs\t/dev/t\tnosuid,size=1m\tdir\tdev');
    expect(
      initArgv({
        uid: 1,
        gid: 2,
        groups: [3, 4],
        cwd: '/w',
        network: 'none',
        lastCapability: 40,
        env: ['A=1'],
        args: ['sh', '-c', 'x'],
      }),
    ).toEqual(['1', '2', '3,4', '/w', 'none', '40', '1', 'A=1', 'sh', '-c', 'x']);
    expect(supervisorArgv({ cwd: '/w', uid: 0, gid: 0, pidFile: '/p', runtime: ['runc', 'run'] })).toEqual([
      '/w',
      '0',
      '0',
      '/p',
      'runc',
      'run',
    ]);
  });
});
