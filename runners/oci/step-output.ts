/**
 * The step's output under the supervisor, held back until the step has really started (its
 * `started` status line, read by ../step-helper-protocol.ts) so that an OCI runtime's own startup
 * complaint (written to the same stderr the step inherits) can be told apart from the step's output.
 */
import type { Readable } from 'node:stream';
import type { RunSpec } from '../../core/ports.js';

/** Holds output chunks until `release()`, then forwards them in order and everything after. */
export class OutputGate {
  private held: ['stdout' | 'stderr', Buffer][] = [];
  private open = false;

  constructor(private readonly onOutput: RunSpec['onOutput']) {}

  /** Attaches to a child's stream. */
  attach(stream: Readable | undefined, name: 'stdout' | 'stderr'): void {
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
