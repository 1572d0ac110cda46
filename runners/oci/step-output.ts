/**
 * The Node side of the supervisor's channels: its status lines (fd 3) and the step's output, held
 * back until the step has really started so that an OCI runtime's own startup complaint (written
 * to the same stderr the step inherits) can be told apart from the step's output.
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import type { RunSpec } from '../../core/ports.js';

/** What the supervisor reported on fd 3. */
export interface SupervisorReport {
  started: boolean;
  error?: string;
  /** Exit status of the runtime when it failed before starting the step. */
  runtimeFailed?: number;
  exitCode?: number;
  signal?: string;
}

/** Reads status lines as they come; `onStarted` fires at the `started` line. */
export function readReport(stream: Readable, onStarted: () => void): Promise<SupervisorReport> {
  const report: SupervisorReport = { started: false };
  let pending = '';
  const take = (line: string): void => {
    const [word = '', ...rest] = line.split(' ');
    const value = rest.join(' ');
    if (word === 'started') {
      report.started = true;
      onStarted();
    } else if (word === 'error:') report.error = value;
    else if (word === 'runtime-failed') report.runtimeFailed = Number(value);
    else if (word === 'exit') report.exitCode = Number(value);
    else if (word === 'signal') report.signal = signalName(Number(value));
  };
  return new Promise((resolve) => {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(take);
    });
    const finish = (): void => {
      if (pending) take(pending);
      resolve(report);
    };
    stream.on('end', finish);
    stream.on('error', finish);
  });
}

/** Node's name for signal number `signo` (`SIGTERM`), or `SIG<n>` for one it does not know. */
export function signalName(signo: number): string {
  const entry = Object.entries(os.constants.signals).find(([, value]) => value === signo);
  return entry?.[0] ?? `SIG${signo}`;
}

/** Holds output chunks until `release()`, then forwards them in order and everything after. */
export class OutputGate {
  private held: ['stdout' | 'stderr', Buffer][] = [];
  private open = false;

  constructor(private readonly onOutput: RunSpec['onOutput']) {}

  /** Attaches to a child's stream. */
  attach(stream: Readable | null, name: 'stdout' | 'stderr'): void {
    stream?.on('data', (chunk: Buffer) => this.push(name, chunk));
  }

  push(name: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.open) this.onOutput?.(name, chunk);
    else this.held.push([name, chunk]);
  }

  /** Forwards what was held and opens the gate. */
  release(): void {
    if (this.open) return;
    this.open = true;
    for (const [name, chunk] of this.held) this.onOutput?.(name, chunk);
    this.held = [];
  }

  /** Drops what was held and returns it as text (the runtime's own messages). */
  discard(): string {
    const text = Buffer.concat(this.held.map(([, chunk]) => chunk)).toString();
    this.held = [];
    this.open = true;
    return text;
  }
}
