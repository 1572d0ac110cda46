/**
 * Processes: node:child_process (loaded on first spawn), system tools by absolute path, short
 * commands (mount, umount, `runc kill|delete`) and the exit status of any child. Not execa: a
 * build would wait for its import at its first RUN or mount (docs/performance.md), and these calls
 * need nothing beyond a spawn and how it ended.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

let loadedChildProcess: typeof import('node:child_process') | undefined;

/**
 * node:child_process, loaded on first use: it brings net, dgram and more of Node's stream
 * machinery, which a fully cached build never needs. Every spawn in tzbuild goes through
 * here (and commander's one import is deferred by scripts/bundle.mjs).
 */
export function childProcess(): typeof import('node:child_process') {
  loadedChildProcess ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return loadedChildProcess;
}

export interface ProcessExit {
  /** Undefined when the process was killed by a signal or could not start. */
  exitCode?: number;
  signal?: string;
  /** Why it could not start (ENOENT …). */
  error?: Error;
}

/** Where Debian and the upstream installers put system tools; searched in this order. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** The same dirs as a PATH, for the processes of a RUN step (which get no environment of ours). */
export const SYSTEM_PATH = SYSTEM_DIRS.join(':');
const systemTools = new Map<string, string>();

/**
 * Absolute path of a system tool (perl, crun …), or undefined when it is not installed (yet: a
 * miss is not remembered). Spawning by name makes the forked child try every $PATH entry in
 * turn, and Node's spawn blocks until that child has exec'd.
 */
export function systemTool(name: string): string | undefined {
  let found = systemTools.get(name);
  if (found === undefined) {
    found = SYSTEM_DIRS.map((dir) => path.join(dir, name)).find((candidate) => existsSync(candidate));
    if (found !== undefined) systemTools.set(name, found);
  }
  return found;
}

/** `file` as given when it is a path, else the system tool's absolute path when there is one. */
export function executable(file: string): string {
  return file.includes('/') ? file : (systemTool(file) ?? file);
}

/** Runs a short command to its end; its stdout and stderr as text. */
export async function runQuiet(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<ProcessExit & { stdout: string; stderr: string }> {
  const child = childProcess().spawn(executable(file), args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
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
    child.once('close', (code, signal) =>
      resolve({ ...(code === null ? {} : { exitCode: code }), ...(signal === null ? {} : { signal }) }),
    );
  });
}
