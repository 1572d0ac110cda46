/**
 * The long-lived process of a RUN step (the namespace setup, the OCI supervisor), spawned with
 * node:child_process for the same reason as processes.ts: its stdio are the step's pipes.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { childProcess, executable, exitOf, type ProcessExit } from '../sys/processes.js';

/**
 * A started step process: fd 3 is a pipe; stdout and stderr are pipes unless a terminal run
 * handed over tzbuild's own (then they are undefined); `exited` settles once all are closed.
 */
export interface StepProcess {
  child: ChildProcess;
  stdout: Readable | undefined;
  stderr: Readable | undefined;
  fd3: Readable;
  exited: Promise<ProcessExit>;
}

/**
 * Starts `file` with exactly `env` (nothing inherited) and pipes on fds 1–3; `attach` (a container
 * run, RunSpec.attach) passes tzbuild's stdin, and with a terminal its stdout and stderr too.
 */
export function startStepProcess(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  attach?: { stdin: boolean; tty: boolean },
): StepProcess {
  const output = attach?.tty ? 'inherit' : 'pipe';
  const stdio = [attach?.stdin ? 'inherit' : 'ignore', output, output, 'pipe'] as const;
  const child = childProcess().spawn(executable(file), args, { env, stdio: [...stdio] });
  return {
    child,
    stdout: child.stdout ?? undefined,
    stderr: child.stderr ?? undefined,
    fd3: child.stdio[3] as Readable,
    exited: exitOf(child),
  };
}
