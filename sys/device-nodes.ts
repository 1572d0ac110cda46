/**
 * Device nodes and FIFOs (overlay whiteouts are 0/0 char devices). Node has no mknod(2), so a
 * helper process makes them: one Perl process per layer apply, fed one node per request line and
 * answering each before the next, instead of one coreutils `mknod` process per node (a `RUN rm`
 * of 20 files used to cost 20 processes at every unpack). perl-base is Essential on Debian; on an
 * architecture whose mknodat number we do not know, each node falls back to coreutils `mknod`.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { childProcess, executable } from './processes.js';

/** The kind of node to make. */
export type NodeKind = 'char' | 'block' | 'fifo';

/** mknodat(2) syscall numbers (x86_64 has its own table; arm64 and riscv64 use the generic one). */
const mknodatNumbers: Partial<Record<string, number>> = { x64: 259, arm64: 33, riscv64: 33 };

const typeBits: Record<NodeKind, number> = { char: 0o020000, block: 0o060000, fifo: 0o010000 };

/**
 * Reads `MODE DEV HEXPATH` lines and answers `ok` or `err MESSAGE` for each. umask 0, so the mode
 * is exactly the tar's (the caller sets ownership and mode again afterwards anyway).
 */
const helperPerl = String.raw`
use strict; use warnings;
$| = 1; umask 0;
my $nr = shift @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($mode, $dev, $hex) = split / /, $line, 3;
  my $path = pack('H*', $hex);
  if (syscall($nr + 0, -100, $path, oct($mode), $dev + 0) == 0) { print "ok\n"; } else { print "err $!\n"; }
}
`;

/** Linux's encoding of a device number (new_encode_dev), as mknodat takes it. */
function encodeDevice(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Makes device nodes through one long-lived helper; {@link close} it when the layer is done. */
export class DeviceMaker {
  private helper: { child: ChildProcessWithoutNullStreams; lines: AsyncIterator<string>; input: Interface } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Creates the node at `target` (which must not exist) with permission bits `mode`. */
  make(target: string, kind: NodeKind, mode: number, major = 0, minor = 0): Promise<void> {
    const next = this.queue.then(() => this.makeNow(target, kind, mode, major, minor));
    // One request at a time: each answer belongs to the request before it.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Ends the helper (if one was started) and waits for it to exit. */
  async close(): Promise<void> {
    await this.queue;
    const helper = this.helper;
    this.helper = undefined;
    if (helper === undefined) return;
    const exited = new Promise<void>((resolve) => {
      if (helper.child.exitCode !== null || helper.child.signalCode !== null) resolve();
      else helper.child.once('exit', () => resolve());
    });
    helper.child.stdin.end();
    helper.input.close();
    await exited;
  }

  private async makeNow(target: string, kind: NodeKind, mode: number, major: number, minor: number): Promise<void> {
    const nr = mknodatNumbers[process.arch];
    if (nr === undefined) return mknodCommand(target, kind, mode, major, minor);
    const helper = this.start(nr);
    const fullMode = typeBits[kind] | (mode & 0o7777);
    helper.child.stdin.write(`${fullMode.toString(8)} ${encodeDevice(major, minor)} ${Buffer.from(target).toString('hex')}\n`);
    const answer = await helper.lines.next();
    if (answer.done === true) throw new Error(`mknod ${target}: the helper process exited`);
    if (answer.value !== 'ok') throw new Error(`mknod ${target}: ${answer.value.replace(/^err /, '')}`);
  }

  private start(nr: number): NonNullable<DeviceMaker['helper']> {
    if (this.helper !== undefined) return this.helper;
    const child = childProcess().spawn(executable('perl'), ['-e', helperPerl, String(nr)], { stdio: ['pipe', 'pipe', 'pipe'] });
    // A helper that failed to start shows up as the end of its output (the request then fails).
    child.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    child.stderr.resume();
    const input = createInterface({ input: child.stdout });
    this.helper = { child, input, lines: input[Symbol.asyncIterator]() };
    return this.helper;
  }
}

/** One coreutils `mknod` process: the fallback where we do not know the syscall number. */
function mknodCommand(target: string, kind: NodeKind, mode: number, major: number, minor: number): Promise<void> {
  const typeArgs = kind === 'fifo' ? ['p'] : [kind === 'char' ? 'c' : 'b', String(major), String(minor)];
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn('mknod', ['-m', (mode & 0o7777).toString(8), target, ...typeArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `mknod exited with ${code}`))));
  });
}
