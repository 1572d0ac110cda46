/**
 * What the runners and their step helpers (helpers/*.sh, helpers/*.pl) tell each other:
 *
 * - the environment of the helpers (StepHelperEnv → stepHelperEnv): the step's overlay and mounts,
 *   never the step's own environment (that goes in the init's argv);
 * - argv: the namespace init's (initArgv; namespace-setup.sh forwards it) and the OCI
 *   supervisor's (supervisorArgv; oci-prelude.sh forwards it);
 * - the records of TZB_MOUNT_VIEWS and TZB_MOUNTS, one per line, fields separated by tabs
 *   (viewLines, mountLines; step-mounts.ts refuses paths with a tab or newline);
 * - status lines on fd 3, helper to runner (readStepStatus). A setup failure is `error: …` and
 *   exit status 125, so it cannot be taken for the step's own exit.
 *
 * Namespace runner: `unshare … /bin/sh namespace-setup.sh INIT-ARGV` → `perl namespace-init.pl
 * INIT-ARGV` (pid 1 of the step's pid namespace), which runs `/bin/sh step-mounts.sh` when there
 * are TZB_MOUNTS. OCI runner: `perl oci-supervisor.pl SUPERVISOR-ARGV`, or with --mount views
 * `unshare --mount … /bin/sh oci-prelude.sh SUPERVISOR-ARGV`, which execs the supervisor.
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import { SYSTEM_PATH } from '../sys/processes.js';
import type { NetworkMode } from './namespaces.js';
import type { MountView, PreparedMount } from './step-mounts.js';

/** The helpers' environment, one field per TZB_* variable (stepHelperEnv adds PATH). */
export interface StepHelperEnv {
  /** TZB_HELPERS: the helpers/ folder (sys/helper-files.ts): the shells find the helpers they start or source there. */
  helpers: string;
  /** TZB_MERGED: where the step's overlay is mounted, the rootfs. */
  merged: string;
  /**
   * TZB_LAYERS: the directory the overlay is mounted from; the lowerdirs are relative to it (sys/overlay-options.ts).
   */
  layers: string;
  /** TZB_LOWER: the overlay's `lowerdir=` value, relative to TZB_LAYERS. */
  lower: string;
  /** TZB_UPPER: the overlay's upperdir (absolute), the step's layer. */
  upper: string;
  /** TZB_WORK: the overlay's workdir (absolute). */
  work: string;
  /**
   * TZB_OVERLAY_OPTS: the overlay options this kernel takes (sys/overlay-options.ts), for the step's overlay and every
   * view.
   */
  overlayOptions: string;
  /** TZB_MOUNT_VIEWS: the --mount sources that are overlay views (viewLines), mounted by mount-views.sh. */
  mountViews: readonly MountView[];
  /**
   * TZB_ETC, namespace runner: the dir with the hosts, resolv.conf and hostname files the init binds over the image's.
   */
  etc?: string;
  /** TZB_HOSTNAME, namespace runner: the step's hostname, set by namespace-setup.sh. */
  hostname?: string;
  /** TZB_MOUNTS, namespace runner: the step's mounts (mountLines), made by step-mounts.sh. */
  mounts?: readonly PreparedMount[];
  /**
   * TZB_ARCH, OCI runner: uname's machine (os.machine()), which picks the supervisor's syscall numbers without loading
   * POSIX.
   */
  arch?: string;
  /**
   * TZB_HIDE_CGROUP2, OCI runner: a cgroup2 mount the supervisor covers with an empty tmpfs (crun on a hybrid host,
   * oci/runtime-binary.ts).
   */
  hideCgroup2?: string;
  /**
   * TZB_CGROUP_PRIME, OCI runner: the cgroup.procs a child of the supervisor writes to warm the cgroup attach lock
   * (oci/cgroup-prime.ts).
   */
  cgroupPrime?: string;
  /**
   * TZB_OVERLAY_MOUNTED: `1` tells the supervisor the overlay is mounted; oci-prelude.sh sets it, a runner leaves it
   * out.
   */
  overlayMounted?: boolean;
  /**
   * TZB_FOREGROUND, OCI runner: `1` for a container run attached to tzbuild's stdio: the supervisor
   * runs the runtime without `--detach` (it relays the terminal) and reports the runtime's exit.
   */
  foreground?: boolean;
}

/** The environment record a step helper is started with: exactly these, nothing inherited. */
export function stepHelperEnv(vars: StepHelperEnv): Record<string, string> {
  const optional: [string, string | undefined][] = [
    ['TZB_ETC', vars.etc],
    ['TZB_HOSTNAME', vars.hostname],
    ['TZB_MOUNTS', vars.mounts && mountLines(vars.mounts)],
    ['TZB_ARCH', vars.arch],
    ['TZB_HIDE_CGROUP2', vars.hideCgroup2],
    ['TZB_CGROUP_PRIME', vars.cgroupPrime],
    ['TZB_OVERLAY_MOUNTED', vars.overlayMounted ? '1' : undefined],
    ['TZB_FOREGROUND', vars.foreground ? '1' : undefined],
  ];
  return {
    // The helpers' own tools (mount, unshare, perl), by the same dirs tzbuild searches.
    PATH: SYSTEM_PATH,
    TZB_HELPERS: vars.helpers,
    TZB_MERGED: vars.merged,
    TZB_LAYERS: vars.layers,
    TZB_LOWER: vars.lower,
    TZB_UPPER: vars.upper,
    TZB_WORK: vars.work,
    TZB_OVERLAY_OPTS: vars.overlayOptions,
    TZB_MOUNT_VIEWS: viewLines(vars.mountViews),
    ...Object.fromEntries(optional.filter((entry): entry is [string, string] => entry[1] !== undefined)),
  };
}

/** What namespace-init.pl is told in its argv. */
export interface InitArgs {
  /** The step's uid, set after pivot_root. */
  uid: number;
  /** The step's gid. */
  gid: number;
  /** Supplementary groups, exactly these (sent comma-separated; none: an empty list). */
  groups: readonly number[];
  /** The working directory, absolute in the rootfs; created when missing. */
  cwd: string;
  /** `none`: the init brings up loopback in the step's own network namespace. */
  network: NetworkMode;
  /** The kernel's highest capability (cap_last_cap): all up to it but Docker's set leave the bounding set. */
  lastCapability: number;
  /** The step's environment, `NAME=value` each (sent as a count, then the entries). */
  env: readonly string[];
  /** The step's command; the rest of the argv. */
  args: readonly string[];
}

/** namespace-init.pl's argv: uid gid groups cwd network lastCap envCount env… args…. */
export function initArgv(init: InitArgs): string[] {
  return [
    String(init.uid),
    String(init.gid),
    init.groups.join(','),
    init.cwd,
    init.network,
    String(init.lastCapability),
    String(init.env.length),
    ...init.env,
    ...init.args,
  ];
}

/** What oci-supervisor.pl is told in its argv. */
export interface SupervisorArgs {
  /** The working directory, absolute in the rootfs; created (owned by uid:gid) in a chroot when missing. */
  cwd: string;
  /** Owner of the directories made for cwd. */
  uid: number;
  /** Group of the directories made for cwd. */
  gid: number;
  /** The runtime's --pid-file: the supervisor reads the container init's pid there. */
  pidFile: string;
  /** `RUNTIME … run --detach …`, run as the supervisor's child; the rest of the argv. */
  runtime: readonly string[];
}

/** oci-supervisor.pl's argv: cwd uid gid pidfile runtime-argv…. */
export function supervisorArgv(supervisor: SupervisorArgs): string[] {
  return [supervisor.cwd, String(supervisor.uid), String(supervisor.gid), supervisor.pidFile, ...supervisor.runtime];
}

/**
 * TZB_MOUNT_VIEWS records: `from TAB lower TAB upper|- TAB work|- TAB view` (the dir the mount
 * runs from, the `lowerdir=` value relative to it, `-` for a read-only view, the mountpoint).
 */
export function viewLines(views: readonly MountView[]): string {
  return views
    .map((view) => [view.from, view.lowerdirOption, view.upper ?? '-', view.work ?? '-', view.view].join('\t'))
    .join('\n');
}

/**
 * TZB_MOUNTS records: `bind|tmpfs TAB source TAB target TAB ro|rw|tmpfs-options TAB dir|file TAB
 * dev|image` (`dev`: the mountpoint is made in the step's /dev tmpfs; `image`: it exists in the
 * init layer already).
 */
export function mountLines(mounts: readonly PreparedMount[]): string {
  return mounts
    .map((mount) =>
      [
        mount.type,
        mount.source,
        mount.target,
        mount.type === 'tmpfs' ? mount.options.join(',') : mount.readonly ? 'ro' : 'rw',
        mount.directory ? 'dir' : 'file',
        mount.inDev ? 'dev' : 'image',
      ].join('\t'),
    )
    .join('\n');
}

/** What a step helper reported on fd 3, one line each. */
export interface StepStatus {
  /** `started`: the step runs (the init forked it; the runtime started the container). */
  started: boolean;
  /** `error: MESSAGE`: setup failed (the helper exits 125). */
  error?: string;
  /** `runtime-failed N`, supervisor: the runtime exited with N before starting the step (its message is on stderr). */
  runtimeFailed?: number;
  /** `exit N`, supervisor: the step exited with N (the namespace init exits with the step's status instead). */
  exitCode?: number;
  /** `signal N`: the step died of signal N, here by Node's name (`SIGKILL`). */
  signal?: string;
}

/** Reads status lines as they come until fd 3 closes; `onStarted` fires at the `started` line. */
export function readStepStatus(stream: Readable, onStarted?: () => void): Promise<StepStatus> {
  const status: StepStatus = { started: false };
  let pending = '';
  const take = (line: string): void => {
    if (line === 'started') {
      status.started = true;
      onStarted?.();
    } else if (line.startsWith('error: ')) status.error = line.slice('error: '.length);
    else if (line.startsWith('runtime-failed ')) status.runtimeFailed = Number(line.slice('runtime-failed '.length));
    else if (line.startsWith('exit ')) status.exitCode = Number(line.slice('exit '.length));
    else if (line.startsWith('signal ')) status.signal = signalName(Number(line.slice('signal '.length)));
  };
  return new Promise((resolve) => {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(take);
    });
    const finish = (): void => {
      if (pending) take(pending);
      pending = '';
      resolve(status);
    };
    stream.on('end', finish);
    stream.on('error', finish);
  });
}

/** Node's name for signal number `signo` (`SIGTERM`), or `SIG<n>` for one it does not know. */
export function signalName(signo: number): string {
  const entry = Object.entries(os.constants.signals).find(([, value]) => value === signo);
  return entry?.[0] ?? `SIG${signo}`;
}
