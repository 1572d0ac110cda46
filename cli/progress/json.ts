/**
 * `--progress=json`: one `BuildEvent` per line, exactly as the builder reports it. The schema is
 * documented (and kept stable for tools) in docs/progress.md.
 */
import type { BuildEvent, ProgressSink } from '../../core/ports.js';

export class JsonSink implements ProgressSink {
  constructor(private readonly write: (line: string) => void) {}

  emit(event: BuildEvent): void {
    this.write(`${JSON.stringify(event)}\n`);
  }
}
