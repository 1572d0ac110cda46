/**
 * `--progress=tty`: the Ink TUI. Ink and React are imported dynamically, when this sink is made,
 * so plain, JSON and quiet builds never load them; nothing is drawn before the first event, and
 * events that arrive while the import is in flight are queued and replayed in order. If the TUI cannot load, the build falls back
 * to plain lines rather than going silent.
 */
import type { BuildEvent, ProgressSink } from '../../ports.js';
import { PlainSink } from './plain.js';
import type { StepLogs } from './step-logs.js';

/** What the TUI renders to and where it finds step logs. */
export interface TuiOptions {
  /** A terminal (normally process.stderr): its columns/rows and 'resize' events drive the layout. */
  stream: NodeJS.WriteStream;
  /** Per-step log files; a failed step shows its log's path. */
  logs?: StepLogs;
}

type InkModule = typeof import('./tui/ink-sink.js');

export class TtySink implements ProgressSink {
  private inner: ProgressSink | undefined;
  private readonly queue: BuildEvent[] = [];
  private loading: Promise<void> | undefined;
  /** Ink takes a few hundred ms to load: start now, while the CLI opens the store and plans. */
  private readonly module: Promise<InkModule | Error>;

  constructor(private readonly options: TuiOptions) {
    this.module = loadInk();
  }

  emit(event: BuildEvent): void {
    if (this.inner !== undefined) {
      this.inner.emit(event);
      return;
    }
    this.queue.push(event);
    // Nothing is drawn before the first event: a build that fails early (bad Dockerfile) prints
    // only its error.
    this.loading ??= this.load();
  }

  async close(): Promise<void> {
    await this.loading;
    await this.inner?.close?.();
  }

  private async load(): Promise<void> {
    const loaded = await this.module;
    let inner: ProgressSink;
    try {
      if (loaded instanceof Error) throw loaded;
      inner = new loaded.InkSink(this.options);
    } catch (error) {
      const write = (line: string) => this.options.stream.write(line);
      write(`tzbuild: terminal UI unavailable (${(error as Error).message}); showing plain progress\n`);
      inner = new PlainSink(write, this.options.logs);
    }
    for (const event of this.queue.splice(0)) inner.emit(event);
    this.inner = inner;
  }
}

/** Imports the Ink renderer; a failure is returned, not thrown, so the sink can fall back. */
async function loadInk(): Promise<InkModule | Error> {
  try {
    return await import('./tui/ink-sink.js');
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
