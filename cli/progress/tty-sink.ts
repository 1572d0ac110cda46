/**
 * `--progress=tty`: the Ink TUI, started only when the build lasts long enough for a live display
 * to matter. Until then events are folded into the view state and queued; a build that ends
 * first (a cached rebuild) prints the same final frame without Ink (static-frame.ts), so it never
 * pays the few hundred ms Ink and React take to load. A longer build loads Ink with a dynamic
 * import and replays the queue. If the TUI cannot load, the build falls back to plain lines.
 */
import type { BuildEvent, ProgressSink } from '../../core/ports.js';
import { renderStaticFrame } from './static-frame.js';
import type { StepLogs } from './step-logs.js';
import { initialViewState, reduceView, type ViewState } from './view-state.js';

/** What the TUI renders to and where it finds step logs. */
export interface TuiOptions {
  /** A terminal (normally process.stderr): its columns/rows and 'resize' events drive the layout. */
  stream: NodeJS.WriteStream;
  /** Per-step log files; a failed step shows its log's path. */
  logs?: StepLogs;
  /** How long a build runs before the live display starts (default 250 ms; 0 = at once). */
  liveAfterMs?: number;
  /** The sink that takes over when the terminal UI cannot load (plain lines through `write`). */
  fallback: (write: (text: string) => void) => ProgressSink;
}

type InkModule = typeof import('./tui/ink-sink.js');

export class TtySink implements ProgressSink {
  private inner: ProgressSink | undefined;
  private readonly queue: BuildEvent[] = [];
  private state: ViewState = initialViewState();
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TuiOptions) {}

  emit(event: BuildEvent): void {
    if (this.inner !== undefined) {
      this.inner.emit(event);
      return;
    }
    this.queue.push(event);
    this.state = reduceView(this.state, event);
    // Nothing is drawn before the first event: a build that fails early (bad Dockerfile) prints
    // only its error.
    this.timer ??= setTimeout(() => {
      this.loading ??= this.load();
    }, this.options.liveAfterMs ?? 250);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    if (this.loading === undefined) {
      if (this.queue.length > 0) this.options.stream.write(this.staticFrame());
      return;
    }
    await this.loading;
    await this.inner?.close?.();
  }

  private staticFrame(): string {
    const logs = this.options.logs;
    return renderStaticFrame(
      this.state,
      this.options.stream.columns || 80,
      Date.now(),
      logs ? (stepId) => logs.pathOf(stepId) : undefined,
    );
  }

  private async load(): Promise<void> {
    const loaded = await loadInk();
    let inner: ProgressSink;
    try {
      if (loaded instanceof Error) throw loaded;
      inner = new loaded.InkSink(this.options);
    } catch (error) {
      const write = (line: string) => this.options.stream.write(line);
      write(`tzbuild: terminal UI unavailable (${(error as Error).message}); showing plain progress\n`);
      inner = this.options.fallback(write);
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
