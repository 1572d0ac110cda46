/**
 * `--metadata-file F`: after a successful build, a JSON summary for tools (docker buildx's flag
 * of the same name): the image ID, the manifest digest when the builder reports it, the tags,
 * and each step's cache result. Collected from the event stream like any other sink; written
 * atomically on close. Schema: docs/progress.md.
 */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../core/errors.js';
import type { BuildEvent, ProgressSink } from '../../core/ports.js';

/** One step's line in the metadata file. */
export interface StepMetadata {
  stepId: string;
  /** Position in the build's step order (1-based, as the progress output numbers steps). */
  index: number;
  stage: string;
  /** 1-based Dockerfile line of the instruction. */
  line: number;
  text: string;
  /** `cached`: answered from the cache; `run`: executed; `base`: a FROM (nothing to cache). */
  result: 'cached' | 'run' | 'base';
  /** Time the step took in this build (a cache hit: the lookup). */
  durationMs: number;
  /** Cache hits: how long the step took when it ran. */
  savedMs?: number;
  /** Bytes of the layer the step added, when it ran and added one. */
  layerSize?: number;
}

/** The whole file. `version` changes only when a field changes meaning or goes away. */
export interface BuildMetadata {
  version: 1;
  /** The config digest, what `tzbuild images` and `--iidfile` call the image ID. */
  imageId: string;
  /** Present when the builder's build.done event carries it (see docs/progress.md). */
  manifestDigest?: string;
  tags: string[];
  cached: number;
  ran: number;
  durationMs: number;
  steps: StepMetadata[];
}

export class MetadataSink implements ProgressSink {
  private readonly steps = new Map<string, StepMetadata & { startedAt: number }>();
  private startedAt: number | undefined;
  private metadata: BuildMetadata | undefined;

  constructor(private readonly file: string) {}

  emit(event: BuildEvent): void {
    if (event.type === 'build.start') this.startedAt = event.time;
    if (event.type === 'step.start') {
      const { stepId, index, stage, line, text, time } = event;
      this.steps.set(stepId, { stepId, index, stage, line, text, result: 'base', durationMs: 0, startedAt: time });
    }
    const step = 'stepId' in event ? this.steps.get(event.stepId) : undefined;
    if (step !== undefined) this.update(step, event);
    if (event.type === 'build.done') this.metadata = this.summary(event);
  }

  /** Writes the file if the build finished; a failed build leaves no (stale) metadata behind. */
  async close(): Promise<void> {
    if (this.metadata === undefined) return;
    const temp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
    try {
      await writeFile(temp, `${JSON.stringify(this.metadata, null, 2)}\n`);
      await rename(temp, this.file);
    } catch (error) {
      throw new UserError(`cannot write --metadata-file ${this.file}: ${(error as Error).message}`, 'METADATA_FILE', {
        cause: error,
      });
    }
  }

  private update(step: StepMetadata & { startedAt: number }, event: BuildEvent): void {
    if (event.type === 'step.miss') step.result = 'run';
    if (event.type === 'step.cached') {
      step.result = 'cached';
      step.savedMs = event.savedMs;
      step.durationMs = Math.max(0, event.time - step.startedAt);
    }
    if (event.type === 'step.done') {
      step.durationMs = event.durationMs;
      if (event.layerSize !== undefined) step.layerSize = event.layerSize;
    }
  }

  private summary(event: Extract<BuildEvent, { type: 'build.done' }>): BuildMetadata {
    const manifestDigest = (event as { manifestDigest?: unknown }).manifestDigest;
    return {
      version: 1,
      imageId: event.imageId,
      ...(typeof manifestDigest === 'string' ? { manifestDigest } : {}),
      tags: event.tags,
      cached: event.cached,
      ran: event.ran,
      durationMs: Math.max(0, event.time - (this.startedAt ?? event.time)),
      steps: [...this.steps.values()]
        .sort((a, b) => a.index - b.index)
        .map(({ startedAt: _startedAt, ...step }) => step),
    };
  }
}
