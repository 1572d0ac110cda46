/**
 * Device nodes and FIFOs (overlay whiteouts are 0/0 char devices). Node has no mknod(2), so a
 * helper process makes them: one Perl process per layer apply, fed one node per request line and
 * answering each before the next, instead of one coreutils `mknod` process per node (a `RUN rm`
 * of 20 files used to cost 20 processes at every unpack). perl-base is Essential on Debian; on an
 * architecture whose mknodat number we do not know (the helper answers `unsupported`), each node
 * falls back to coreutils `mknod`. The helper is helpers/mknod.pl, its protocol mknod-protocol.ts.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { helperFile } from './helper-files.js';
import {
  encodeDevice,
  encodeMknodRequest,
  mknodArgs,
  nodeMode,
  parseMknodAnswer,
  type NodeKind,
} from './mknod-protocol.js';
import { childProcess, executable } from './processes.js';

export type { NodeKind } from './mknod-protocol.js';

/** Set once a helper answered `unsupported`: this process then makes every node with coreutils. */
let mknodatUnsupported = false;

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
    if (!mknodatUnsupported) {
      const helper = this.start();
      helper.child.stdin.write(
        encodeMknodRequest({ mode: nodeMode(kind, mode), device: encodeDevice(major, minor), path: target }),
      );
      const line = await helper.lines.next();
      if (line.done === true) throw new Error(`mknod ${target}: the helper process exited`);
      const answer = parseMknodAnswer(line.value);
      if (answer.kind === 'ok') return;
      if (answer.kind === 'error') throw new Error(`mknod ${target}: ${answer.message}`);
      mknodatUnsupported = true;
    }
    return mknodCommand(target, kind, mode, major, minor);
  }

  private start(): NonNullable<DeviceMaker['helper']> {
    if (this.helper !== undefined) return this.helper;
    const child = childProcess().spawn(executable('perl'), [helperFile('mknod.pl'), ...mknodArgs(os.machine())], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
    const child = childProcess().spawn('mknod', ['-m', (mode & 0o7777).toString(8), target, ...typeArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(stderr.trim() || `mknod exited with ${code}`)),
    );
  });
}
