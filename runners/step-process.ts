/**
 * The long-lived process of a RUN step (the namespace setup, the OCI supervisor), spawned with
 * node:child_process for the same reason as processes.ts: its stdio are the step's pipes.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { childProcess, executable, exitOf, type ProcessExit } from '../sys/processes.js';

/** A started step process: stdout, stderr and fd 3 are pipes; `exited` settles once all are closed. */
export interface StepProcess {
  child: ChildProcess;
  stdout: Readable;
  stderr: Readable;
  fd3: Readable;
  exited: Promise<ProcessExit>;
}

/** Starts `file` with exactly `env` (nothing inherited) and pipes on fds 1–3. */
export function startStepProcess(file: string, args: readonly string[], env: Record<string, string>): StepProcess {
  const child = childProcess().spawn(executable(file), args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  return {
    child,
    stdout: child.stdout!,
    stderr: child.stderr!,
    fd3: child.stdio[3] as Readable,
    exited: exitOf(child),
  };
}
