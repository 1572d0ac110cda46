/**
 * The OCI runner's pure parts: the config.json it writes, the exec-failure mapping, the runtime
 * chooser and the cgroup2 hiding rule. No privileges needed.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../core/errors.js';
import type { RunSpec } from '../../../../core/ports.js';
import { createRunner } from '../../../../cli/compose.js';
import { isRunnerKind } from '../../../../runners/kinds.js';
import { NamespaceRunner } from '../../../../runners/namespaces.js';
import { execFailureResult } from '../../../../runners/oci/exec-failure.js';
import { OciRuntimeRunner } from '../../../../runners/oci/oci-runtime.js';
import { buildOciSpec, DOCKER_CAPABILITIES, MASKED_PATHS, READONLY_PATHS } from '../../../../runners/oci/oci-spec.js';
import { hiddenCgroup2, ociCommand } from '../../../../runners/oci/runtime-binary.js';
import { readMounts } from '../../../../sys/mounts.js';

const spec: RunSpec = {
  lowerdirs: ['/s/1'],
  upperdir: '/s/u',
  workdir: '/s/w',
  args: ['sh', '-c', 'make'],
  env: ['PATH=/bin', 'A=1'],
  cwd: 'src/../app',
  uid: 1000,
  gid: 1001,
  additionalGids: [27],
};

interface Config {
  process: {
    user: unknown;
    args: string[];
    env: string[];
    cwd: string;
    terminal: boolean;
    noNewPrivileges: boolean;
    capabilities: Record<string, string[]>;
    rlimits: { hard: number }[];
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: { namespaces: { type: string }[]; maskedPaths: string[]; readonlyPaths: string[] };
}

function config(overrides: Partial<RunSpec> = {}, network: 'host' | 'none' = 'host', etcDir?: string): Config {
  return buildOciSpec(
    { ...spec, ...overrides },
    { rootfs: '/scratch/merged', etcDir },
    { hostname: 'box', network, maxOpenFiles: 4096 },
  ) as unknown as Config;
}

describe('OCI runtime spec', () => {
  it('carries the process exactly: argv, env, user, normalised cwd, no terminal', () => {
    const { process: proc, root, hostname } = config();
    expect(proc.args).toEqual(['sh', '-c', 'make']);
    expect(proc.env).toEqual(['PATH=/bin', 'A=1']);
    expect(proc.user).toEqual({ uid: 1000, gid: 1001, additionalGids: [27] });
    expect(proc.cwd).toBe('/app');
    expect(proc.terminal).toBe(false);
    expect(proc.noNewPrivileges).toBe(false);
    expect(root).toEqual({ path: '/scratch/merged', readonly: false });
    expect(hostname).toBe('box');
  });

  it("bounds every user by Docker's 14 default capabilities; only root holds them", () => {
    expect(DOCKER_CAPABILITIES).toHaveLength(14);
    const user = config().process.capabilities;
    expect(user.bounding).toEqual([...DOCKER_CAPABILITIES]);
    expect(user.effective).toEqual([]);
    const root = config({ uid: 0 }).process.capabilities;
    expect(root.effective).toEqual([...DOCKER_CAPABILITIES]);
    expect(root.permitted).toEqual([...DOCKER_CAPABILITIES]);
    expect(root.ambient).toEqual([]);
  });

  it('creates a network namespace only for network none', () => {
    expect(
      config()
        .linux.namespaces.map((ns) => ns.type)
        .sort(),
    ).toEqual(['ipc', 'mount', 'pid', 'uts']);
    expect(
      config({}, 'none')
        .linux.namespaces.map((ns) => ns.type)
        .sort(),
    ).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
  });

  it("masks and write-protects Docker's /proc and /sys paths and mounts /sys read-only", () => {
    const { linux, mounts } = config();
    expect(linux.maskedPaths).toEqual([...MASKED_PATHS]);
    expect(linux.maskedPaths).toContain('/proc/kcore');
    expect(linux.readonlyPaths).toEqual([...READONLY_PATHS]);
    expect(mounts.map((mount) => mount.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
    ]);
    expect(mounts.find((mount) => mount.destination === '/sys')?.options).toContain('ro');
  });

  it('bind-mounts the generated /etc files only when the sandbox made them', () => {
    const withEtc = config({}, 'host', '/scratch/etc').mounts.filter((mount) => mount.type === 'bind');
    expect(withEtc.map((mount) => [mount.destination, mount.source])).toEqual([
      ['/etc/hosts', '/scratch/etc/hosts'],
      ['/etc/resolv.conf', '/scratch/etc/resolv.conf'],
      ['/etc/hostname', '/scratch/etc/hostname'],
    ]);
    expect(config().mounts.filter((mount) => mount.type === 'bind')).toEqual([]);
  });

  it('keeps RLIMIT_NOFILE within what the runtime may set', () => {
    expect(config().process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 }]);
  });
});

describe('exec failures reported by a runtime', () => {
  it("maps runc's messages to 127/126 with the namespace runner's wording", () => {
    const runc = 'runc run failed: unable to start container process: exec: "gcc": executable file not found in $PATH';
    expect(execFailureResult(runc, 'gcc')).toEqual({
      result: { exitCode: 127 },
      message: 'tzbuild: cannot run "gcc": executable file not found in $PATH',
    });
    const absolute = 'unable to start container process: exec: "/opt/x": stat /opt/x: no such file or directory';
    expect(execFailureResult(absolute, '/opt/x')?.message).toBe(
      'tzbuild: cannot run "/opt/x": no such file or directory',
    );
    const denied = 'unable to start container process: exec: "/etc/passwd": permission denied';
    expect(execFailureResult(denied, '/etc/passwd')?.result).toEqual({ exitCode: 126 });
  });

  it('leaves other runtime failures alone', () => {
    expect(execFailureResult('error setting rlimit type 7: operation not permitted', 'sh')).toBeUndefined();
  });
});

describe('createRunner', () => {
  const none = () => undefined;
  const only = (name: string) => (kind: string) => (kind === name ? `/opt/${name}` : undefined);

  it('auto prefers crun, then runc, then the namespace runner', async () => {
    expect((await createRunner('auto', { findRuntime: (kind) => `/opt/${kind}` })).name).toBe('crun');
    expect((await createRunner('auto', { findRuntime: only('runc') })).name).toBe('runc');
    expect(await createRunner('auto', { findRuntime: none })).toBeInstanceOf(NamespaceRunner);
  });

  it('gives the named runner, and a clear UserError for a runtime that is not installed', async () => {
    expect(await createRunner('crun', { findRuntime: only('crun') })).toBeInstanceOf(OciRuntimeRunner);
    expect((await createRunner('namespaces', { findRuntime: none })).name).toBe('namespaces');
    await expect(createRunner('runc', { findRuntime: only('crun') })).rejects.toThrow(UserError);
    await expect(createRunner('runc', { findRuntime: none })).rejects.toThrow(/runc is not installed/);
  });

  it('recognises the --runner values', () => {
    expect(['auto', 'runc', 'crun', 'namespaces'].every(isRunnerKind)).toBe(true);
    expect(isRunnerKind('docker')).toBe(false);
  });
});

describe('crun on a hybrid cgroup host', () => {
  const hybrid = readMounts(
    [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n'),
  );

  it('hides nothing from runc, or where there is no cgroup2 next to cgroup v1', () => {
    expect(hiddenCgroup2('runc', hybrid)).toBeUndefined();
    expect(hiddenCgroup2('crun', readMounts('30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw'))).toBeUndefined();
  });

  it('wraps a hidden mount in a throwaway private namespace', () => {
    expect(ociCommand(['crun', 'list'], undefined)).toEqual(['crun', 'list']);
    const wrapped = ociCommand(['crun', 'list'], '/sys/fs/cgroup/unified');
    expect(wrapped.slice(0, 4)).toEqual(['unshare', '--mount', '--propagation', 'private']);
    expect(wrapped.slice(-3)).toEqual(['/sys/fs/cgroup/unified', 'crun', 'list']);
  });
});
