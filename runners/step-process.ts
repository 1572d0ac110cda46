/**
 * The processes a RUN step starts (the namespace setup, the OCI supervisor, `runc kill|delete`)
 * and the builder's view mounts, spawned with node:child_process: importing execa costs 35–120 ms, which the first RUN of every
 * build would wait for, and these calls need nothing beyond a spawn and its exit status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ProcessExit {
  /** Undefined when the process was killed by a signal or could not start. */
  exitCode?: number;
  signal?: string;
  /** Why it could not start (ENOENT …). */
  error?: Error;
}

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
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  return { child, stdout: child.stdout!, stderr: child.stderr!, fd3: child.stdio[3] as Readable, exited: exitOf(child) };
}

/** Runs a short command to its end; its stdout and stderr as text. */
export async function runQuiet(file: string, args: readonly string[]): Promise<ProcessExit & { stdout: string; stderr: string }> {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  const exit = await exitOf(child);
  return { ...exit, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

function exitOf(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('close', (code, signal) => resolve({ ...(code === null ? {} : { exitCode: code }), ...(signal === null ? {} : { signal }) }));
  });
}
