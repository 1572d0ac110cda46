/**
 * Every step's full output in a file of its own (`<dir>/<stepId>.log`), so nothing a bounded
 * screen cut off is lost; the sinks print a failed step's log path. The CLI gives each build its
 * own directory under the store's `tmp/logs/`; only the newest `KEEP_BUILDS` are kept (store GC
 * also sweeps old `tmp/` entries).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import type { BuildEvent, ProgressSink } from '../../core/ports.js';

/** Log directories of this many builds survive; older ones are removed when a build ends. */
export const KEEP_BUILDS = 20;

export class StepLogs implements ProgressSink {
  private readonly open = new Map<string, WriteStream>();
  private readonly written = new Set<string>();
  private readonly closing: Promise<unknown>[] = [];
  private dirMade = false;
  private broken = false;

  /** `dir`: this build's own log directory (created on the first line written). */
  constructor(readonly dir: string) {}

  /** The log file of `stepId`, or undefined when the step wrote nothing. */
  pathOf(stepId: string): string | undefined {
    return this.written.has(stepId) ? this.fileOf(stepId) : undefined;
  }

  emit(event: BuildEvent): void {
    switch (event.type) {
      case 'step.output':
        this.write(event.stepId, event.line);
        break;
      case 'step.failed':
        this.write(event.stepId, `tzbuild: step failed: ${event.message}`);
        this.end(event.stepId);
        break;
      case 'step.done':
      case 'step.cached':
        // Steps end one by one: closing each file keeps open descriptors to the running steps.
        this.end(event.stepId);
        break;
    }
  }

  /** Flushes every file, then removes the log directories of older builds. */
  async close(): Promise<void> {
    for (const stepId of [...this.open.keys()]) this.end(stepId);
    await Promise.allSettled(this.closing);
    if (this.dirMade) await pruneOldBuilds(path.dirname(this.dir), KEEP_BUILDS).catch(() => undefined);
  }

  private write(stepId: string, line: string): void {
    const stream = this.streamOf(stepId);
    if (stream === undefined) return;
    this.written.add(stepId);
    stream.write(`${line}\n`);
  }

  private streamOf(stepId: string): WriteStream | undefined {
    if (this.broken) return undefined;
    let stream = this.open.get(stepId);
    if (stream !== undefined) return stream;
    try {
      if (!this.dirMade) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.dirMade = true;
    } catch {
      // A log we cannot write must not fail the build: the screen still shows the output.
      this.broken = true;
      return undefined;
    }
    stream = createWriteStream(this.fileOf(stepId), { flags: 'a', mode: 0o600 });
    stream.on('error', () => this.written.delete(stepId));
    this.open.set(stepId, stream);
    return stream;
  }

  private end(stepId: string): void {
    const stream = this.open.get(stepId);
    if (stream === undefined) return;
    this.open.delete(stepId);
    stream.end();
    this.closing.push(finished(stream));
  }

  private fileOf(stepId: string): string {
    return path.join(this.dir, `${stepId.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
  }
}

/** A new, unique log directory name under `logsRoot`; names sort in time order. */
export function newBuildLogDir(logsRoot: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return path.join(logsRoot, `${stamp}-${process.pid}`);
}

/** Removes all but the `keep` newest build log directories (names sort by time). */
export async function pruneOldBuilds(logsRoot: string, keep: number): Promise<string[]> {
  const names = (await readdir(logsRoot)).sort();
  const old = names.slice(0, Math.max(0, names.length - keep));
  await Promise.all(old.map((name) => rm(path.join(logsRoot, name), { recursive: true, force: true })));
  return old;
}
