/**
 * The OCI runtime spec (`config.json`) of one RUN step, shaped like the spec Docker/BuildKit give a
 * build container: Docker's default capabilities, its masked and read-only /proc and /sys paths,
 * its /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue and read-only /sys mounts. Pure: no I/O, so the
 * mapping from a RunSpec is easy to test.
 *
 * Left out on purpose: seccomp and AppArmor profiles (the namespace runner has none either, and a
 * build step that needs e.g. `unshare` should behave the same under every runner).
 */
import path from 'node:path';
import type { RunSpec } from '../../core/ports.js';
import type { PreparedMount } from '../step-mounts.js';

/** Docker's default capability set (moby `oci/caps/defaults.go`), which a build step gets. */
export const DOCKER_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

/** Paths Docker hides from a container: kernel memory, keys, timers, firmware, power readings. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;

/** Kernel knobs Docker makes read-only even for the container's root. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/** Mountpoints the runtime needs in the rootfs that the namespace runner's init layer lacks. */
export const EXTRA_MOUNTPOINTS = ['sys'] as const;

/** The open-files limit a step gets (dockerd's own limit, which Docker containers inherit). */
export const DEFAULT_NOFILE = 1_048_576;

/** One entry of the spec's `mounts`. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Where the pieces of one step live on the host. */
export interface OciSpecPaths {
  /** The merged overlay (mounted before the runtime starts). */
  rootfs: string;
  /** The generated /etc files (`hosts`, `resolv.conf`, `hostname`), or undefined for none. */
  etcDir?: string;
  /** The step's extra mounts (step-mounts.ts), applied after the others. */
  stepMounts?: readonly PreparedMount[];
}

/** Extra settings that do not come from the RunSpec. */
export interface OciSpecOptions {
  hostname: string;
  network: 'host' | 'none';
  /** Upper bound for RLIMIT_NOFILE (our own hard limit). */
  maxOpenFiles?: number;
  /** We run in a user namespace (rootless mode): no sysfs of our own with the host's network. */
  rootless?: boolean;
}

/** The whole config.json for `spec`, as a plain JSON-able object. */
export function buildOciSpec(spec: RunSpec, paths: OciSpecPaths, options: OciSpecOptions): Record<string, unknown> {
  const nofile = Math.min(DEFAULT_NOFILE, options.maxOpenFiles ?? DEFAULT_NOFILE);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.attach?.tty === true,
      user: { uid: spec.uid, gid: spec.gid, additionalGids: spec.additionalGids ?? [] },
      args: spec.args,
      env: spec.env,
      cwd: stepCwd(spec.cwd),
      capabilities: capabilitySets(spec.uid),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      // Docker builds allow setuid binaries (sudo, su) to gain privileges inside the step.
      noNewPrivileges: false,
    },
    root: { path: paths.rootfs, readonly: false },
    hostname: options.hostname,
    mounts: [...systemMounts(options), ...etcMounts(paths.etcDir), ...(paths.stepMounts ?? []).map(stepMount)],
    linux: {
      namespaces: namespaces(options.network),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      // Deny every device node; the runtime then allows its default set (null, zero, tty …).
      resources: { devices: [{ allow: false, access: 'rwm' }] },
    },
  };
}

/** The step's working directory as an absolute, normalised path. */
export function stepCwd(cwd: string): string {
  return path.posix.resolve('/', cwd || '/');
}

/**
 * Root gets Docker's set in every capability set; another user starts with empty effective and
 * permitted sets (as after a real setuid), keeping only the bounding set, so setuid binaries and
 * file capabilities still work up to Docker's set.
 */
function capabilitySets(uid: number): Record<string, string[]> {
  const all = [...DOCKER_CAPABILITIES];
  const granted = uid === 0 ? all : [];
  return { bounding: all, effective: granted, permitted: granted, inheritable: [], ambient: [] };
}

function namespaces(network: 'host' | 'none'): { type: string }[] {
  const own = ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  return network === 'none' ? [...own, { type: 'network' }] : own;
}

/** Docker's default container mounts, minus the cgroup filesystem (a build step has no use for it). */
function systemMounts(options: Pick<OciSpecOptions, 'network' | 'rootless'>): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    sysMount(options),
  ];
}

/**
 * A read-only sysfs. The kernel lets a user namespace mount sysfs only for a network namespace it
 * owns, so rootless with the host's network gets the host's /sys bound read-only (as rootless
 * Docker and Podman do).
 */
function sysMount(options: Pick<OciSpecOptions, 'network' | 'rootless'>): OciMount {
  if (options.rootless === true && options.network === 'host') {
    return {
      destination: '/sys',
      type: 'bind',
      source: '/sys',
      options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev', 'ro'],
    };
  }
  return { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] };
}

/** Bind mounts of the generated /etc files over the init layer's empty ones. */
function etcMounts(etcDir: string | undefined): OciMount[] {
  if (etcDir === undefined) return [];
  return ['hosts', 'resolv.conf', 'hostname'].map((name) => ({
    destination: `/etc/${name}`,
    type: 'bind',
    source: path.join(etcDir, name),
    options: ['rbind', 'rprivate'],
  }));
}

/** A RUN --mount as a spec mount: binds stay private to the step, read-only ones are remounted so. */
function stepMount(mount: PreparedMount): OciMount {
  if (mount.type === 'tmpfs')
    return { destination: mount.target, type: 'tmpfs', source: 'tmpfs', options: [...mount.options] };
  return {
    destination: mount.target,
    type: 'bind',
    source: mount.source,
    options: ['rbind', 'rprivate', ...(mount.readonly ? ['ro'] : [])],
  };
}
