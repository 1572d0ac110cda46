/**
 * Plain progress: one line per event, no escape codes, every RUN output line prefixed with its
 * step, nothing clipped. For CI logs and pipes (and `--progress=plain` anywhere).
 */
import type { BuildEvent, ProgressSink } from '../../core/ports.js';
import { formatBytes, formatDuration, pullLine } from '../format.js';
import type { StepLogs } from './step-logs.js';
import { warningLines } from './warnings.js';

/** A downloading layer's bytes are printed at most this often. */
const PLAIN_PROGRESS_INTERVAL_MS = 2_000;

export class PlainSink implements ProgressSink {
  /** Global step number (`#3`) of each step id. */
  private readonly numbers = new Map<string, number>();
  /** When each pulled layer's progress was last printed. */
  private readonly layerPrinted = new Map<string, number>();
  private savedMs = 0;

  /** `logs`: when given, a failed step's line is followed by the path of its full output. */
  constructor(
    private readonly write: (text: string) => void,
    private readonly logs?: StepLogs,
  ) {}

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
        this.savedMs += event.savedMs;
        return `${this.tag(event.stepId)} CACHED`;
      case 'step.miss':
        return `${this.tag(event.stepId)} cache miss: ${event.reason}`;
      case 'step.output':
        return `${this.tag(event.stepId)} | ${event.line}`;
      case 'step.progress':
        return this.progress(event);
      case 'step.done': {
        // FROM steps only mark the base as ready; their start line already said which base.
        if (event.stepId.endsWith('.0')) return undefined;
        const layer = event.layerSize === undefined ? '' : ` (layer ${formatBytes(event.layerSize)})`;
        return `${this.tag(event.stepId)} DONE ${formatDuration(event.durationMs)}${layer}`;
      }
      case 'step.failed':
        return this.failed(event.stepId, event.message);
      case 'build.done': {
        const saved = this.savedMs > 0 ? `, cache saved ${formatDuration(this.savedMs)}` : '';
        return [
          `${event.cached} cached, ${event.ran} run${saved}`,
          `image ${event.imageId}`,
          ...event.tags.map((tag) => `tagged ${tag}`),
        ].join('\n');
      }
      case 'build.warnings':
        return warningLines(event.warnings).join('\n') || undefined;
    }
  }

  /**
   * A pulled layer as BuildKit's plain output shows it, without flooding a CI log: when it starts,
   * at most every few seconds while it downloads, and when it is done.
   */
  private progress(event: Extract<BuildEvent, { type: 'step.progress' }>): string | undefined {
    const last = this.layerPrinted.get(event.layer);
    if (event.phase === 'downloading' && last !== undefined && event.time - last < PLAIN_PROGRESS_INTERVAL_MS)
      return undefined;
    this.layerPrinted.set(event.layer, event.time);
    return `${this.tag(event.stepId)} ${pullLine(event)}`;
  }

  private failed(stepId: string, message: string): string {
    const line = `${this.tag(stepId)} ERROR ${message}`;
    const log = this.logs?.pathOf(stepId);
    return log === undefined ? line : `${line}\n${this.tag(stepId)} full output: ${log}`;
  }

  private tag(stepId: string): string {
    return `#${this.numbers.get(stepId) ?? stepId}`;
  }
}
