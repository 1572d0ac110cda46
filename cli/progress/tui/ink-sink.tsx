/**
 * Renders the build with Ink. Events only update the view state; a 100 ms ticker redraws when
 * something changed or a step is running (spinners, elapsed times), so a burst of output lines
 * costs one frame, not one per line. Loaded only through `TtySink` (a dynamic import).
 */
import { render, type Instance } from 'ink';
import type { BuildEvent, ProgressSink } from '../../../core/ports.js';
import { initialViewState, reduceView, type ViewState } from '../view-state.js';
import type { TuiOptions } from '../tty-sink.js';
import { BuildView } from './app.js';

/** How often the live area may be redrawn (BuildKit's display uses the same interval). */
export const FRAME_MS = 100;

export class InkSink implements ProgressSink {
  private state: ViewState = initialViewState();
  private dirty = true;
  private readonly instance: Instance;
  private readonly ticker: NodeJS.Timeout;
  private readonly onResize = () => {
    this.dirty = true;
  };

  constructor(private readonly options: TuiOptions) {
    this.instance = render(this.view(false), {
      stdout: options.stream,
      stderr: options.stream,
      // The build's own errors print after close(); nothing else writes meanwhile.
      patchConsole: false,
      exitOnCtrlC: false,
      // Our ticker already throttles; Ink's own throttle would only add a trailing timer that
      // holds the process open after the build.
      maxFps: 60,
    });
    this.ticker = setInterval(() => this.paint(), FRAME_MS);
    // The ticker must never keep a finished (or crashed) CLI alive.
    this.ticker.unref();
    options.stream.on('resize', this.onResize);
  }

  emit(event: BuildEvent): void {
    this.state = reduceView(this.state, event);
    this.dirty = true;
  }

  /** Draws the final frame (summary, or where the build failed) and leaves it on screen. */
  async close(): Promise<void> {
    clearInterval(this.ticker);
    this.options.stream.off('resize', this.onResize);
    this.instance.rerender(this.view(true));
    this.instance.unmount();
    await this.instance.waitUntilExit();
  }

  private paint(): void {
    if (!this.dirty && this.state.active.length === 0) return;
    this.dirty = false;
    this.instance.rerender(this.view(false));
  }

  private view(final: boolean) {
    const stream = this.options.stream;
    return (
      <BuildView
        state={this.state}
        now={Date.now()}
        columns={stream.columns || 80}
        rows={stream.rows || 24}
        final={final}
        logPathOf={(stepId) => this.options.logs?.pathOf(stepId)}
      />
    );
  }
}
