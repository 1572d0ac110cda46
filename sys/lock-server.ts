/**
 * flock(2) for Node through one helper process: Node has no flock, and a `flock(1)` child per
 * acquisition costs three execs on every missed step (step lock, snapshot lock). One small Perl
 * process per tzbuild process holds all of its locks instead, each on its own open file
 * description (so two holders in this process exclude each other as two processes would).
 *
 * Protocol, one line each way: `L <id> <x|s> <w|n> <path>` (w: wait as long as it takes, n: do not
 * wait) answers `ok <id>`, `busy <id>` or `err <id> <message>`; `U <id>` releases (no answer:
 * nothing waits for it); `C <id>` gives up a request still waiting (it answers `busy <id>`),
 * which is also how a timeout ends (the timer is on our side). When tzbuild dies, the helper
 * reads EOF and exits, and the kernel drops every lock it held: no stale lock, SIGKILL included.
 * Perl is there wherever the namespace runner works (perl-base is essential on Debian).
 */
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StoreError } from '../core/errors.js';
import { childProcess, executable } from './processes.js';

/**
 * Blocking requests are retried with LOCK_NB every few ms: the helper never blocks on one lock.
 * No modules (strict, Fcntl, IO::Select, Time::HiRes each cost milliseconds at start, and the
 * first missed step waits for this process): Linux's flock and open flag values, 4-arg select.
 */
const LOCK_SERVER_PERL = String.raw`
my ($LOCK_SH, $LOCK_EX, $LOCK_NB, $O_RDWR, $O_CREAT) = (1, 2, 4, 2, 64);
$| = 1;
my (%held, @pending);
my $stdin = '';
vec($stdin, fileno(STDIN), 1) = 1;
my $buffer = '';
sub attempt {
  my ($request) = @_;
  my $fh;
  unless (sysopen($fh, $request->{path}, $O_RDWR | $O_CREAT, 0644)) {
    print "err $request->{id} $!\n";
    return 1;
  }
  if (flock($fh, ($request->{mode} eq 's' ? $LOCK_SH : $LOCK_EX) | $LOCK_NB)) {
    $held{$request->{id}} = $fh;
    print "ok $request->{id}\n";
    return 1;
  }
  close $fh;
  return 0;
}
while (1) {
  if (select(my $ready = $stdin, undef, undef, @pending ? 0.005 : undef) > 0) {
    my $read = sysread(STDIN, $buffer, 65536, length $buffer);
    exit 0 unless $read;
    while ($buffer =~ s/^([^\n]*)\n//) {
      my $line = $1;
      if ($line =~ /^U (\d+)$/) {
        close(delete $held{$1}) if exists $held{$1};
      } elsif ($line =~ /^C (\d+)$/) {
        my $id = $1;
        my $before = @pending;
        @pending = grep { $_->{id} != $id } @pending;
        print "busy $id\n" if @pending < $before;
      } elsif ($line =~ /^L (\d+) ([xs]) ([wn]) (.+)$/) {
        my $request = { id => $1, mode => $2, path => $4 };
        next if attempt($request);
        if ($3 eq 'n') { print "busy $1\n"; next; }
        push @pending, $request;
      }
    }
  }
  @pending = grep { !attempt($_) } @pending;
}
`;

/** What a lock request ends in. */
export type LockAnswer = { kind: 'ok' } | { kind: 'busy' } | { kind: 'error'; message: string };

type Helper = ChildProcessByStdio<Writable, Readable, null>;

let helper: Helper | undefined;
let nextId = 1;
const waiting = new Map<number, (answer: LockAnswer) => void>();

/**
 * Asks the helper for the lock on `file`: `waitMs` -1 waits as long as it takes, 0 not at all,
 * more gives up (cancels the request) after that many ms. Resolves once the lock is held (`ok`),
 * or is busy past the wait.
 */
export function requestLock(file: string, shared: boolean, waitMs: number): { id: number; answer: Promise<LockAnswer> } {
  if (/[\n\0]/.test(file)) throw new StoreError(`cannot lock ${JSON.stringify(file)}: newline or NUL in the path`, 'LOCK_FAILED');
  const id = nextId++;
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<LockAnswer>((resolve) => waiting.set(id, resolve)).finally(() => clearTimeout(timer));
  const server = ensureHelper();
  keepAliveWhileWaiting(server);
  server.stdin.write(`L ${id} ${shared ? 's' : 'x'} ${waitMs === 0 ? 'n' : 'w'} ${file}\n`);
  // Granted before the timer fires: the cancel finds nothing pending and the answer stays `ok`.
  if (waitMs > 0) timer = setTimeout(() => cancelLockRequest(id), waitMs);
  return { id, answer };
}

/** Gives up waiting for request `id`: its answer becomes `busy` unless the lock was already granted. */
export function cancelLockRequest(id: number): void {
  helper?.stdin.write(`C ${id}\n`);
}

/**
 * Releases a lock `requestLock` answered `ok` for, without waiting for the helper's answer: it
 * handles our lines in order, so any later request of this process comes after the release, and
 * another process gets the lock a moment later. A missed step takes a lock and releases it: this
 * saves one of its two round trips. (If the helper died, the kernel released everything it held.)
 */
export async function releaseLock(id: number): Promise<void> {
  helper?.stdin.write(`U ${id}\n`);
}

function ensureHelper(): Helper {
  if (helper !== undefined) return helper;
  const child = childProcess().spawn(executable('perl'), ['-e', LOCK_SERVER_PERL], { stdio: ['pipe', 'pipe', 'inherit'] });
  let pendingText = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pendingText += chunk;
    let newline: number;
    while ((newline = pendingText.indexOf('\n')) >= 0) {
      answer(pendingText.slice(0, newline));
      pendingText = pendingText.slice(newline + 1);
    }
    keepAliveWhileWaiting(child);
  });
  const fail = (message: string) => {
    helper = undefined;
    for (const [id, resolve] of waiting) {
      waiting.delete(id);
      resolve({ kind: 'error', message });
    }
  };
  child.once('error', (error) => fail(`the lock helper (perl) could not start: ${error.message}`));
  child.once('exit', (code, signal) => fail(`the lock helper exited (${signal ?? code})`));
  // A write after the helper died must not crash tzbuild: the exit handler answers the requests.
  child.stdin.on('error', () => undefined);
  // Held locks need no event loop: the process may exit and the kernel releases them.
  child.unref();
  helper = child;
  return child;
}

function answer(line: string): void {
  const match = /^(ok|busy|err) (\d+)(?: (.*))?$/.exec(line);
  if (match === null) return;
  const resolve = waiting.get(Number(match[2]));
  if (resolve === undefined) return;
  waiting.delete(Number(match[2]));
  resolve(match[1] === 'ok' ? { kind: 'ok' } : match[1] === 'busy' ? { kind: 'busy' } : { kind: 'error', message: match[3] ?? 'unknown error' });
}

/** The helper's pipes keep Node running only while some request waits for an answer. */
function keepAliveWhileWaiting(child: Helper): void {
  const stdout = child.stdout as Readable & { ref?: () => void; unref?: () => void };
  const stdin = child.stdin as Writable & { ref?: () => void; unref?: () => void };
  if (waiting.size > 0) stdout.ref?.();
  else stdout.unref?.();
  stdin.unref?.();
}
