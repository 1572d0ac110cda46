/**
 * Plain progress: one line per event, no escape codes, every RUN output line prefixed with its
 * step, nothing clipped. For CI logs and pipes.
 */
import type { BuildEvent, ProgressSink } from '../../ports.js';
import { formatBytes, formatDuration } from '../format.js';

export class PlainSink implements ProgressSink {
  /** Global step number (`#3`) of each step id. */
  private readonly numbers = new Map<string, number>();

  constructor(private readonly write: (line: string) => void) {}

  emit(event: BuildEvent): void {
    const line = this.format(event);
    if (line !== undefined) this.write(`${line}\n`);
  }

  private format(event: BuildEvent): string | undefined {
    switch (event.type) {
      case 'build.start':
        return `building ${event.steps} steps in ${event.stages} stage${event.stages === 1 ? '' : 's'}`;
      case 'stage.start':
        return undefined;
      case 'step.start':
        this.numbers.set(event.stepId, event.index);
        return `#${event.index} [${event.stage} ${event.index}/${event.total}] ${event.text}`;
      case 'step.cached':
        return `${this.tag(event.stepId)} CACHED`;
      case 'step.miss':
        return `${this.tag(event.stepId)} cache miss: ${event.reason}`;
      case 'step.output':
        return `${this.tag(event.stepId)} | ${event.line}`;
      case 'step.done':
        if (event.stepId.endsWith('.0')) return undefined;
        return `${this.tag(event.stepId)} DONE ${formatDuration(event.durationMs)}${event.layerSize === undefined ? '' : ` (layer ${formatBytes(event.layerSize)})`}`;
      case 'step.failed':
        return `${this.tag(event.stepId)} ERROR ${event.message}`;
      case 'build.done':
        return [
          `${event.cached} cached, ${event.ran} run`,
          `image ${event.imageId}`,
          ...event.tags.map((tag) => `tagged ${tag}`),
        ].join('\n');
    }
  }

  private tag(stepId: string): string {
    return `#${this.numbers.get(stepId) ?? stepId}`;
  }
}

/** JSON lines: one event per line, for tools. */
export class JsonSink implements ProgressSink {
  constructor(private readonly write: (line: string) => void) {}

  emit(event: BuildEvent): void {
    this.write(`${JSON.stringify(event)}\n`);
  }
}

/** `-q`: nothing while building (the CLI prints the image ID at the end). */
export class QuietSink implements ProgressSink {
  emit(): void {}
}
