/**
 * Short commands (mount, umount, `runc kill|delete`) and the exit status of any child process,
 * with node:child_process: importing execa costs 35–120 ms, which a build would wait for at its
 * first RUN or mount, and these calls need nothing beyond a spawn and how it ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessExit {
  /** Undefined when the process was killed by a signal or could not start. */
  exitCode?: number;
  signal?: string;
  /** Why it could not start (ENOENT …). */
  error?: Error;
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

/** Settles once `child` has exited and its stdio are closed (or it could not start). */
export function exitOf(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('close', (code, signal) => resolve({ ...(code === null ? {} : { exitCode: code }), ...(signal === null ? {} : { signal }) }));
  });
}
