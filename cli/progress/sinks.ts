/** Small sinks: nothing at all (`-q`), and one stream of events fanned out to several sinks. */
import type { BuildEvent, ProgressSink } from '../../core/ports.js';

/** `-q`: nothing while building (the CLI prints the image ID at the end). */
export class QuietSink implements ProgressSink {
  emit(): void {}
}

/**
 * Sends every event to each sink in order. A sink that throws is skipped for that event (a
 * ProgressSink must never fail the build); `close` waits for all of them.
 */
export class TeeSink implements ProgressSink {
  constructor(private readonly sinks: readonly ProgressSink[]) {}

  emit(event: BuildEvent): void {
    for (const sink of this.sinks) {
      try {
        sink.emit(event);
      } catch {
        // Progress is best effort; the build's result does not depend on it.
      }
    }
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map((sink) => sink.close?.()));
    const failure = results.find((result) => result.status === 'rejected');
    // A file the user asked for (--metadata-file) that could not be written is worth reporting.
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  }
}
