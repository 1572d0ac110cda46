/**
 * NamespaceRunner: runs one RUN step in fresh Linux namespaces (mount, pid, ipc, uts, optionally
 * net) over overlayfs, as root, with nothing but util-linux `unshare`, `mount` and perl-base.
 *
 * The flow: a private scratch dir → `unshare` starts the setup script (helpers/namespace-setup.sh),
 * which mounts the overlay inside the new mount namespace → the Perl init
 * (helpers/namespace-init.pl) mounts /proc, /dev, /etc files, pivots into the rootfs and runs the
 * step (their inputs and status lines: step-helper-protocol.ts) → when the step ends, the init
 * exits, which ends the pid namespace and with it the mount namespace. Mountpoints come from an
 * init layer stacked on the image (sandbox-dir.ts), so none of them end up in the step's layer.
 *
 * Why nothing needs unmounting on the host: every mount is made inside a mount namespace whose
 * propagation is private (`--propagation private`, so no mount or unmount travels to or from the
 * host's shared mounts), the host never sees them, and the kernel releases them when the last
 * process of the namespace exits — which happens before `unshare` (our child) can report the
 * exit. The one lazy unmount (MNT_DETACH) is the host root inside the namespace after
 * pivot_root: it is busy by construction. No lazy unmount is ever done on the host, where it
 * could hide a still-busy overlay that keeps writing into the upperdir.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../core/errors.js';
import type { RunResult, RunSpec, Runner } from '../core/ports.js';
import { startStepProcess } from './step-process.js';
import { attachSignals } from './attach-signals.js';
import { helperDir, helperFile } from '../sys/helper-files.js';
import { assertMountablePath, overlayFeatureOptions } from '../sys/overlay-options.js';
import { childPids, killQuietly, waitGone } from './process-tree.js';
import { createSandboxDir, defaultTmpRoot, removeSandboxDir, type SandboxDir } from './sandbox-dir.js';
import { initArgv, readStepStatus, stepHelperEnv, type StepStatus } from './step-helper-protocol.js';
import { canMountAsRoot } from '../sys/userns.js';

/** How the step reaches the network. */
export type NetworkMode = 'host' | 'none';

/** Options of the namespace runner; all optional. */
export interface NamespaceRunnerOptions {
  /** Default when the spec sets none: `host` shares the host network, `none` gives only loopback. */
  network?: NetworkMode;
  /** Parent of the per-step scratch dirs (default: the OS temp dir). */
  tmpRoot?: string;
  /** Path of util-linux `unshare` (default: found in /usr/bin or /bin). */
  unshare?: string;
}

/** The hostname a step sees when the spec names none. */
export const DEFAULT_HOSTNAME = 'tzbuild';

const SIGKILL_RESULT: RunResult = { exitCode: 128 + os.constants.signals.SIGKILL, signal: 'SIGKILL' };

/** Runs RUN steps in Linux namespaces over overlayfs. Needs root (on the host or in tzbuild's user namespace). */
export class NamespaceRunner implements Runner {
  readonly name = 'namespaces';
  private readonly network: NetworkMode;
  private readonly tmpRoot: string;
  private readonly unsharePath: string | undefined;
  private readonly setprivPath: string | undefined;

  constructor(options: NamespaceRunnerOptions = {}) {
    this.network = options.network ?? 'host';
    this.tmpRoot = options.tmpRoot ?? defaultTmpRoot();
    this.unsharePath = options.unshare ?? findTool('unshare');
    this.setprivPath = findTool('setpriv');
  }

  /** Runs the step; settles only once every process and mount of the step is gone. */
  async run(spec: RunSpec): Promise<RunResult> {
    const unshare = this.checkHost();
    validateSpec(spec);
    if (spec.signal?.aborted) return { ...SIGKILL_RESULT };
    const sandbox = await createSandboxDir(
      this.tmpRoot,
      spec.hostname ?? DEFAULT_HOSTNAME,
      spec.lowerdirs,
      spec.mounts,
    );
    try {
      return await this.runInNamespaces(unshare, spec, sandbox);
    } finally {
      await removeSandboxDir(sandbox);
    }
  }

  private checkHost(): string {
    if (!canMountAsRoot()) {
      throw new UserError(
        "the namespace runner needs Linux and root, or tzbuild's rootless mode (it mounts overlayfs)",
        'RUNNER_UNAVAILABLE',
      );
    }
    if (!this.unsharePath) {
      throw new UserError('the namespace runner needs `unshare` from util-linux', 'RUNNER_UNAVAILABLE');
    }
    return this.unsharePath;
  }

  private async runInNamespaces(unshare: string, spec: RunSpec, sandbox: SandboxDir): Promise<RunResult> {
    const child = this.spawnSetup(unshare, spec, sandbox);
    forwardOutput(child.stdout, 'stdout', spec.onOutput);
    forwardOutput(child.stderr, 'stderr', spec.onOutput);
    const status = readStepStatus(child.fd3);
    // The init is pid 1 of the step's namespace: TERM and HUP sent to us go to it.
    const detach = spec.attach ? attachSignals((signal) => child.child.kill(signal)) : undefined;
    let killing: Promise<void> | undefined;
    const onAbort = (): void => {
      killing ??= killNamespace(child.child.pid);
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await child.exited;
      const report = await status;
      if (killing) {
        await killing;
        return { ...SIGKILL_RESULT };
      }
      return interpretExit(report, result.exitCode, result.signal);
    } finally {
      spec.signal?.removeEventListener('abort', onAbort);
      detach?.();
    }
  }

  private spawnSetup(unshare: string, spec: RunSpec, sandbox: SandboxDir) {
    const network = spec.network ?? this.network;
    const setupArgv = ['/bin/sh', helperFile('namespace-setup.sh'), ...initArgs(spec, network)];
    const argv = [unshare, ...unshareFlags(network), '--', ...setupArgv];
    // setpriv --pdeathsig: should this process die without cleaning up, unshare gets SIGKILL and
    // its --kill-child takes the namespace down with it.
    const [file = unshare, ...args] = this.setprivPath ? [this.setprivPath, '--pdeathsig', 'KILL', ...argv] : argv;
    return startStepProcess(file, args, setupEnv(spec, sandbox), spec.attach);
  }
}

/** Turns what the init reported and how unshare exited into the step's result. */
function interpretExit(report: StepStatus, exitCode: number | undefined, signal: string | undefined): RunResult {
  if (report.error !== undefined || !report.started) throw setupError(report.error, exitCode);
  if (report.signal) return { exitCode: exitCode ?? 128, signal: report.signal };
  // unshare itself killed from outside (not by us): report it like a signal of the step.
  if (signal) return { exitCode: 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0), signal };
  return { exitCode: exitCode ?? 1 };
}

/** A util-linux tool by absolute path (the runner's own env has no PATH to search). */
function findTool(name: string): string | undefined {
  return [`/usr/bin/${name}`, `/bin/${name}`].find((candidate) => existsSync(candidate));
}

function unshareFlags(network: NetworkMode): string[] {
  const net = network === 'none' ? ['--net'] : [];
  // --kill-child: if we die (or kill unshare before the fork is visible), the namespace dies too.
  return ['--mount', '--pid', '--ipc', '--uts', ...net, '--fork', '--kill-child=SIGKILL', '--propagation', 'private'];
}

/**
 * Kills the namespace's init (unshare's child): the kernel then kills the whole pid namespace and
 * unshare reaps it, so the step's mounts are gone by the time `unshare` exits. Before the fork,
 * killing unshare itself is enough.
 */
async function killNamespace(unsharePid: number | undefined): Promise<void> {
  if (unsharePid === undefined) return;
  const children = await childPids(unsharePid).catch(() => [] as number[]);
  if (children.length === 0) {
    killQuietly(unsharePid);
    return;
  }
  children.forEach(killQuietly);
  await waitGone(children, 5_000);
}

/** The setup script's environment: host PATH and the TZB_* inputs, never the step's env. */
function setupEnv(spec: RunSpec, sandbox: SandboxDir): Record<string, string> {
  return stepHelperEnv({
    helpers: helperDir(),
    merged: sandbox.merged,
    layers: sandbox.mountFrom,
    lower: sandbox.lowerdirOption,
    upper: path.resolve(spec.upperdir),
    work: path.resolve(spec.workdir),
    overlayOptions: overlayFeatureOptions(),
    etc: sandbox.etc,
    hostname: spec.hostname ?? DEFAULT_HOSTNAME,
    mountViews: sandbox.mounts.views,
    mounts: sandbox.mounts.mounts,
  });
}

/** argv of the Perl init (step-helper-protocol.ts). */
function initArgs(spec: RunSpec, network: NetworkMode): string[] {
  return initArgv({
    uid: spec.uid,
    gid: spec.gid,
    groups: spec.additionalGids ?? [],
    cwd: path.posix.resolve('/', spec.cwd || '/'),
    network,
    lastCapability: lastCapability(),
    env: spec.env,
    args: spec.args,
  });
}

/** Highest capability number this kernel knows, so the init can drop every unlisted one. */
function lastCapability(): number {
  const text = readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8');
  return Number.parseInt(text, 10);
}

/** Rejects specs no runner can carry out (no command, ids out of range, bad hostname, NUL bytes). */
export function validateSpec(spec: RunSpec): void {
  if (spec.args.length === 0 || spec.args[0] === '')
    throw new UserError('RUN has no command to execute', 'RUNNER_SPEC');
  for (const [what, dir] of [
    ['upperdir', spec.upperdir],
    ['workdir', spec.workdir],
  ] as const) {
    assertMountablePath(path.resolve(dir), what);
  }
  const ids = [spec.uid, spec.gid, ...(spec.additionalGids ?? [])];
  if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id < 2 ** 32)) {
    throw new UserError(`invalid uid/gid for RUN: ${ids.join(', ')}`, 'RUNNER_SPEC');
  }
  if (spec.hostname !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(spec.hostname)) {
    throw new UserError(`invalid hostname for RUN: ${spec.hostname}`, 'RUNNER_SPEC');
  }
  if ([...spec.env, ...spec.args, spec.cwd].some((text) => text.includes('\0'))) {
    throw new UserError('RUN arguments and environment cannot contain NUL bytes', 'RUNNER_SPEC');
  }
}

function setupError(detail: string | undefined, exitCode: number | undefined): UserError {
  const why = detail ?? `the sandbox setup exited with code ${exitCode ?? 'unknown'}`;
  return new UserError(`could not start the RUN sandbox: ${why}`, 'RUNNER_SETUP');
}

function forwardOutput(stream: Readable | undefined, name: 'stdout' | 'stderr', onOutput: RunSpec['onOutput']): void {
  stream?.on('data', (chunk: Buffer) => onOutput?.(name, chunk));
}
