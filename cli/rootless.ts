/**
 * Rootless mode. Started by a user other than root, tzbuild re-executes itself as uid 0 of a new
 * user namespace (with its own mount namespace): `unshare --user --mount --map-root-user`, plus
 * `--map-auto` (the user's ranges in /etc/subuid and /etc/subgid, through the setuid `newuidmap`
 * and `newgidmap`) when the user has them. Everything then runs as that namespace's root — layer
 * apply with the image's owners, snapshots, overlay mounts (kernel ≥ 5.11), the namespace runner
 * — and the host sees only the user's own uid and subordinate ids on disk.
 *
 * Without subordinate ids only uid/gid 0 exist in the namespace: images whose files all belong to
 * root build; a file owned by any other id cannot be created (the kernel refuses the chown).
 *
 * This module is imported by bin/tzbuild before anything else, so it uses only Node's builtins
 * (and processes.ts and helper-files.ts, which do too): the parent process does nothing but wait
 * for the re-executed one.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isatty } from 'node:tty';
import { helperFile } from '../sys/helper-files.js';
import { childProcess } from '../sys/processes.js';

/** Set in the re-executed process's environment: it is already inside the namespace. */
export const ROOTLESS_ENV = 'TZBUILD_ROOTLESS';

/** Commands that never open a store, so they need no namespace (and start faster without). */
const NO_STORE_COMMANDS = new Set(['parse', 'help', '--help', '-h', '--version', '-V']);

/** Where util-linux and shadow's uidmap put their tools on Debian. */
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/** A user's range of subordinate ids. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/** How the namespace will be set up for this user. */
export interface RootlessPlan {
  /** Whose namespace it is. */
  user: { name: string; uid: number };
  /** uid and gid ranges from /etc/subuid and /etc/subgid; undefined: only the user maps (to 0). */
  subordinate?: { uids: SubordinateRange; gids: SubordinateRange };
  /** argv that enters the namespace and then runs `command`. */
  argv: string[];
}

/** A host that cannot give us a user namespace: what is missing, as one line. */
export class RootlessUnavailableError extends Error {}

/**
 * Runs tzbuild rootless when it must: returns the re-executed process's exit code, or undefined
 * when this process should just go on (root, already inside the namespace, or a command without
 * a store). `entry` is the script to re-execute (bin/tzbuild).
 */
export async function runRootlessIfNeeded(args: readonly string[], entry: string): Promise<number | undefined> {
  if (!needsNamespace(args)) return undefined;
  let plan: RootlessPlan;
  try {
    plan = planRootless([process.execPath, ...process.execArgv, entry, ...args]);
  } catch (error) {
    if (!(error instanceof RootlessUnavailableError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  return reexec(plan);
}

/** True when this process is a non-root user on the host that is about to use a store. */
export function needsNamespace(args: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform !== 'linux' || process.getuid?.() === 0) return false;
  // Still not root after entering: let the command fail with its own message rather than loop.
  if (env[ROOTLESS_ENV] === '1') return false;
  return !NO_STORE_COMMANDS.has(args[0] ?? '');
}

/** Checks the host and builds the argv that runs `command` inside the namespace. */
export function planRootless(command: readonly string[], user = currentUser()): RootlessPlan {
  checkKernel();
  const unshare = findTool('unshare');
  const setpriv = findTool('setpriv');
  if (!unshare || !setpriv)
    throw new RootlessUnavailableError(
      'rootless mode needs `unshare` and `setpriv` from util-linux (apt-get install util-linux)',
    );
  const uids = subordinateRange(readText('/etc/subuid'), user);
  const gids = subordinateRange(readText('/etc/subgid'), user);
  const subordinate = uids && gids ? { uids, gids } : undefined;
  if (subordinate && (!findTool('newuidmap') || !findTool('newgidmap'))) {
    throw new RootlessUnavailableError(
      `rootless mode: ${user.name} has subordinate ids in /etc/subuid and /etc/subgid, but newuidmap/newgidmap are ` +
        `missing (apt-get install uidmap)`,
    );
  }
  const maps = subordinate ? ['--map-auto', '--map-root-user'] : ['--map-root-user'];
  // unshare's own errors (and newuidmap's) go to our pipe on fd 2; helpers/rootless-exec.sh gives
  // the real stderr, waiting on fd 3, back as fd 2 just before tzbuild starts.
  // --pdeathsig TERM: if this parent dies, the build inside is cancelled cleanly, not orphaned.
  const argv = [
    setpriv,
    '--pdeathsig',
    'TERM',
    unshare,
    '--user',
    '--mount',
    ...maps,
    '--',
    '/bin/sh',
    helperFile('rootless-exec.sh'),
    ...command,
  ];
  return { user, subordinate, argv };
}

/**
 * The user's first range in an /etc/subuid-style file (`name-or-uid:start:count` lines), which is
 * the one `unshare --map-auto` maps.
 */
export function subordinateRange(text: string, user: { name: string; uid: number }): SubordinateRange | undefined {
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner !== user.name && owner !== String(user.uid)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.count) && range.count > 0) return range;
  }
  return undefined;
}

/**
 * The store a non-root user gets by default: store/store.ts's choice for non-root, computed here
 * because inside the namespace we are uid 0 and would otherwise pick /var/lib/tzbuild.
 */
export function userStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TZBUILD_ROOT) return path.resolve(env.TZBUILD_ROOT);
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'tzbuild');
}

/** Runs the plan with our stdio and environment; resolves to the exit code to report. */
function reexec(plan: RootlessPlan): Promise<number> {
  const [file = 'setpriv', ...args] = plan.argv;
  const env = { ...process.env, [ROOTLESS_ENV]: '1', TZBUILD_ROOT: userStoreRoot() };
  const child = childProcess().spawn(file, args, { env, stdio: ['inherit', 'inherit', 'pipe', 2] });
  let setupErrors = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (setupErrors += chunk));
  const forward = forwardSignals(child.pid);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`error: rootless mode: cannot start ${file}: ${error.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      forward.stop();
      if (setupErrors.trim() !== '') {
        process.stderr.write(`error: ${namespaceFailure(setupErrors, plan)}\n`);
        resolve(1);
        return;
      }
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
}

/** One line saying why the namespace could not be made, with what to do about it. */
export function namespaceFailure(output: string, plan: Pick<RootlessPlan, 'subordinate'>): string {
  const detail = output
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
  const hint = plan.subordinate
    ? 'check the ranges in /etc/subuid and /etc/subgid and that newuidmap/newgidmap are setuid root'
    : 'the host may forbid unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone, ' +
      'user.max_user_namespaces, or an AppArmor/SELinux policy)';
  return `rootless mode: cannot create a user namespace (${detail}); ${hint}`;
}

/**
 * Passes SIGTERM/SIGHUP (and SIGINT when no terminal sent it) on to the build. A terminal's
 * Ctrl-C already reaches the whole foreground process group, the build included; forwarding it
 * as well would count as a second signal, which makes the build exit at once without cleanup.
 */
function forwardSignals(pid: number | undefined): { stop(): void } {
  // isatty, not process.stdin: opening our stdin stream could change the fd the build reads.
  const fromTerminal = [0, 1, 2].some((fd) => isatty(fd));
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
  const handler = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGINT' && fromTerminal) return;
    if (pid !== undefined) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone: its exit is on the way.
      }
    }
  };
  for (const signal of signals) process.on(signal, handler);
  return {
    stop: () => {
      for (const signal of signals) process.off(signal, handler);
    },
  };
}

/** Kernel switches that forbid unprivileged user namespaces, checked first for a clear message. */
function checkKernel(): void {
  if (readText('/proc/sys/kernel/unprivileged_userns_clone').trim() === '0') {
    throw new RootlessUnavailableError(
      'rootless mode needs unprivileged user namespaces, which this host disables (sysctl ' +
        'kernel.unprivileged_userns_clone=1 enables them)',
    );
  }
  if (readText('/proc/sys/user/max_user_namespaces').trim() === '0') {
    throw new RootlessUnavailableError(
      'rootless mode needs user namespaces, which this host limits to 0 (sysctl user.max_user_namespaces)',
    );
  }
}

function currentUser(): { name: string; uid: number } {
  const info = os.userInfo();
  return { name: info.username, uid: info.uid };
}

function findTool(name: string): string | undefined {
  return TOOL_DIRS.map((dir) => path.join(dir, name)).find((candidate) => existsSync(candidate));
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
