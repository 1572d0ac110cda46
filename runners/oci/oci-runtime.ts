/**
 * OciRuntimeRunner: runs one RUN step as a container of an OCI runtime (`runc` or `crun`), the way
 * BuildKit's runc executor does, over the same overlay and init layer as the namespace runner.
 *
 * The flow: a private scratch dir with an OCI bundle (oci-scratch.ts) → the Perl supervisor
 * (helpers/oci-supervisor.pl; with --mount views, `unshare --mount` and helpers/oci-prelude.sh
 * before it) mounts the overlay in a private mount namespace, creates the working directory and
 * runs `RUNTIME run --detach`, then reaps the step as its subreaper → `RUNTIME delete --force` →
 * the scratch dir is removed. Their inputs and status lines: ../step-helper-protocol.ts.
 *
 * Why we mount the overlay ourselves, and in a private namespace, rather than through the spec:
 * the spec's `root.path` must be a ready directory (runtimes do not mount the root themselves,
 * which is why containerd and BuildKit mount it before calling runc), and an overlay mounted on
 * the host would outlive us if we were killed. In a namespace whose only processes are the
 * supervisor and the runtime, the kernel drops the mount when they exit: nothing to unmount, and
 * nothing the host's mount table ever shows.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { readContainerRecord, removeCgroups } from './container-record.js';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../core/errors.js';
import type { RunResult, RunSpec, Runner } from '../../core/ports.js';
import { helperDir, helperFile } from '../../sys/helper-files.js';
import { runQuiet, type ProcessExit } from '../../sys/processes.js';
import { startStepProcess } from '../step-process.js';
import { DEFAULT_HOSTNAME, validateSpec, type NetworkMode } from '../namespaces.js';
import { overlayFeatureOptions } from '../../sys/overlay-options.js';
import { defaultTmpRoot } from '../sandbox-dir.js';
import { readStepStatus, stepHelperEnv, supervisorArgv, type StepStatus } from '../step-helper-protocol.js';
import { canMountAsRoot } from '../../sys/userns.js';
import { execFailureResult } from './exec-failure.js';
import { cgroupPrimeTarget } from './cgroup-prime.js';
import { createOciScratch, removeOciScratch, type OciScratch } from './oci-scratch.js';
import { stepCwd } from './oci-spec.js';
import {
  findRuntime,
  hiddenCgroup2,
  inPrivateMountNamespace,
  ociCommand,
  runtimeGlobalArgs,
  type OciRuntimeKind,
} from './runtime-binary.js';
import { OutputGate } from './step-output.js';
import { attachSignals } from '../attach-signals.js';

/** Options of the OCI runtime runner. */
export interface OciRuntimeRunnerOptions {
  /** Which runtime drives the containers. */
  runtime: OciRuntimeKind;
  /** Path of the runtime binary (default: found in the usual sbin/bin dirs). */
  binary?: string;
  /** Default when the spec sets none: `host` shares the host network, `none` gives only loopback. */
  network?: NetworkMode;
  /** Parent of the per-step scratch dirs (default: the OS temp dir). */
  tmpRoot?: string;
  /** Start of every container id (and so of its cgroup names); default `tzbuild-`. */
  containerPrefix?: string;
  /** The `cgroup.procs` the supervisor writes to warm the cgroup lock (default: cgroup-prime.ts's). */
  cgroupPrime?: string;
}

const SIGKILL_RESULT: RunResult = { exitCode: 128 + os.constants.signals.SIGKILL, signal: 'SIGKILL' };

/** Runs RUN steps through `runc` or `crun`. Needs root. */
export class OciRuntimeRunner implements Runner {
  readonly name: OciRuntimeKind;
  private readonly binary: string | undefined;
  private readonly network: NetworkMode;
  private readonly tmpRoot: string;
  private readonly containerPrefix: string;
  private readonly cgroupPrime: string | undefined;
  /** A cgroup2 mount the runtime must not see (crun on a hybrid cgroup host). */
  private readonly hideCgroup2: string | undefined;

  constructor(options: OciRuntimeRunnerOptions) {
    this.name = options.runtime;
    this.binary = options.binary ?? findRuntime(options.runtime);
    this.network = options.network ?? 'host';
    this.tmpRoot = options.tmpRoot ?? defaultTmpRoot();
    this.hideCgroup2 = hiddenCgroup2(options.runtime);
    this.containerPrefix = options.containerPrefix ?? 'tzbuild-';
    this.cgroupPrime = options.cgroupPrime ?? cgroupPrimeTarget();
  }

  /**
   * Runs the step; resolves once its processes and mounts are gone. The stopped container's
   * cgroups and state and the step's scratch dir go to `spec.tidy` (off the build's path) when
   * given, else they are removed before `run` resolves.
   */
  async run(spec: RunSpec): Promise<RunResult> {
    const binary = this.checkHost();
    validateSpec(spec);
    if (spec.signal?.aborted) return { ...SIGKILL_RESULT };
    const hostname = spec.hostname ?? DEFAULT_HOSTNAME;
    const scratch = await createOciScratch(this.tmpRoot, spec, { hostname, network: spec.network ?? this.network });
    const id = `${this.containerPrefix}${randomBytes(8).toString('hex')}`;
    const container = new Container(binary, this.hideCgroup2, scratch, id, this.cgroupPrime);
    const cleanUp = async () => {
      await container.delete();
      await removeOciScratch(scratch);
    };
    let result: RunResult;
    try {
      result = await this.runContainer(container, spec);
    } catch (error) {
      await cleanUp();
      throw error;
    }
    if (spec.tidy) spec.tidy(cleanUp());
    else await cleanUp();
    return result;
  }

  private checkHost(): string {
    if (!canMountAsRoot()) {
      throw new UserError(
        `the ${this.name} runner needs Linux and root, or tzbuild's rootless mode (it mounts overlayfs)`,
        'RUNNER_UNAVAILABLE',
      );
    }
    if (!this.binary)
      throw new UserError(`${this.name} is not installed (apt-get install ${this.name})`, 'RUNNER_UNAVAILABLE');
    return this.binary;
  }

  private async runContainer(container: Container, spec: RunSpec): Promise<RunResult> {
    const child = spawnSupervisor(container, spec);
    const gate = new OutputGate(spec.onOutput);
    gate.attach(child.stdout, 'stdout');
    gate.attach(child.stderr, 'stderr');
    let started = false;
    let killing: Promise<void> | undefined;
    const kill = (): void => {
      killing ??= container.kill();
    };
    const forward = spec.attach
      ? attachSignals((signal) => void container.signal(signal.slice(3)).catch(() => {}))
      : undefined;
    const report = readStepStatus(child.fd3, () => {
      started = true;
      gate.release();
      if (spec.signal?.aborted) kill();
    });
    // Before `started` there is no container to kill yet; the `started` handler catches up.
    const onAbort = (): void => {
      if (started) kill();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const exit = await child.exited;
      const status = await report;
      // The supervisor reaped the step (its pid namespace is gone with it): nothing left to kill.
      container.reaped = !killing && (status.exitCode !== undefined || status.signal !== undefined);
      if (killing) await killing;
      if (spec.signal?.aborted) return { ...SIGKILL_RESULT };
      return this.interpret(status, exit, gate, spec);
    } finally {
      spec.signal?.removeEventListener('abort', onAbort);
      forward?.();
    }
  }

  /** Turns the supervisor's report into the step's result. */
  private interpret(report: StepStatus, exit: ProcessExit, gate: OutputGate, spec: RunSpec): RunResult {
    if (report.error !== undefined) throw setupError(report.error);
    if (exit.error !== undefined) throw setupError(`cannot start the supervisor: ${exit.error.message}`);
    if (report.runtimeFailed !== undefined) {
      const message = gate.discard();
      const failure = execFailureResult(message, spec.args[0] ?? '');
      if (!failure)
        throw setupError(`${this.name} failed: ${lastLine(message) || `exit status ${report.runtimeFailed}`}`);
      spec.onOutput?.('stderr', Buffer.from(`${failure.message}\n`));
      return failure.result;
    }
    if (report.signal)
      return { exitCode: 128 + (os.constants.signals[report.signal as NodeJS.Signals] ?? 0), signal: report.signal };
    if (report.exitCode !== undefined) return { exitCode: report.exitCode };
    gate.release();
    const why = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode ?? 'unknown'}`;
    throw setupError(`the supervisor ${why} before the step ended`);
  }
}

/** One container's id and the runtime calls that address it. */
class Container {
  constructor(
    readonly binary: string,
    readonly hideCgroup2: string | undefined,
    readonly scratch: OciScratch,
    readonly id: string,
    readonly cgroupPrime: string | undefined,
  ) {}

  /**
   * argv of `RUNTIME run --detach` for this container (run inside the supervisor's namespace);
   * `foreground`: without --detach, the runtime staying to relay the terminal and the exit.
   */
  runArgs(foreground: boolean): string[] {
    const { scratch } = this;
    return [
      this.binary,
      ...runtimeGlobalArgs(scratch.state),
      'run',
      ...(foreground ? [] : ['--detach']),
      '--pid-file',
      scratch.pidFile,
      '--bundle',
      scratch.bundle,
      this.id,
    ];
  }

  /** SIGKILL to the container's init: the kernel then kills the whole pid namespace. */
  async kill(): Promise<void> {
    await this.signal('KILL');
  }

  /** A signal to the container's init (`KILL`, `TERM` …). */
  async signal(name: string): Promise<void> {
    await this.call(['kill', this.id, name]);
  }

  /** Set once the supervisor reaped the step: the container is stopped, only its cgroups remain. */
  reaped = false;

  /**
   * Removes the container's state and cgroups (a no-op when it was never created). After a clean
   * exit under runc, the cgroups listed in its state are removed directly (what `runc delete`
   * would do, without a process per step); anything unexpected falls back to the runtime.
   */
  async delete(): Promise<void> {
    if (this.reaped && (await this.removeStoppedCgroups())) return;
    await this.call(['delete', '--force', this.id]);
  }

  private async removeStoppedCgroups(): Promise<boolean> {
    const dirs = await this.stoppedCgroups();
    // A process of the step still dying holds its cgroup (busy): then the runtime deals with it.
    if (dirs === undefined || !(await removeCgroups(dirs))) return false;
    await rm(path.join(this.scratch.state, this.id), { recursive: true, force: true });
    return true;
  }

  /** The cgroups the runtime's own record lists for this container; undefined when unknown. */
  private async stoppedCgroups(): Promise<string[] | undefined> {
    const record = { runc: 'state.json', crun: 'status' }[path.basename(this.binary)];
    if (record === undefined) return undefined;
    return (await readContainerRecord(path.join(this.scratch.state, this.id, record)))?.cgroups;
  }

  /** The containers the runtime still knows in this step's state dir (should be none after run). */
  async list(): Promise<string> {
    return (await this.call(['list', '--quiet'])).stdout;
  }

  private async call(args: string[]) {
    const [file = this.binary, ...rest] = ociCommand(
      [this.binary, ...runtimeGlobalArgs(this.scratch.state), ...args],
      this.hideCgroup2,
    );
    return await runQuiet(file, rest);
  }
}

/** Starts prelude + supervisor in a private mount namespace; the step's stdio are its pipes. */
function spawnSupervisor(container: Container, spec: RunSpec) {
  const { sandbox } = container.scratch;
  const supervisorArgs = supervisorArgv({
    cwd: stepCwd(spec.cwd),
    uid: spec.uid,
    gid: spec.gid,
    pidFile: container.scratch.pidFile,
    runtime: container.runArgs(spec.attach !== undefined),
  });
  // The sh prelude only for --mount views; else the supervisor does the pdeathsig, the unshare and
  // the overlay mount itself. Either way: if we die, the supervisor dies (pdeathsig) and its
  // namespace, with the overlay, goes.
  const prelude = sandbox.mounts.views.length > 0;
  const [file, ...args] = prelude
    ? ['setpriv', '--pdeathsig', 'KILL', ...inPrivateMountNamespace('oci-prelude.sh', supervisorArgs)]
    : ['perl', helperFile('oci-supervisor.pl'), ...supervisorArgs];
  return startStepProcess(
    file!,
    args,
    stepHelperEnv({
      helpers: helperDir(),
      arch: os.machine(),
      layers: sandbox.mountFrom,
      lower: sandbox.lowerdirOption,
      upper: path.resolve(spec.upperdir),
      work: path.resolve(spec.workdir),
      overlayOptions: overlayFeatureOptions(),
      merged: sandbox.merged,
      hideCgroup2: container.hideCgroup2,
      cgroupPrime: container.cgroupPrime,
      mountViews: sandbox.mounts.views,
      foreground: spec.attach !== undefined,
    }),
    spec.attach,
  );
}

function setupError(detail: string): UserError {
  return new UserError(`could not start the RUN container: ${detail}`, 'RUNNER_SETUP');
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
