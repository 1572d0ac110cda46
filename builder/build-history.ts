/**
 * The cache history of a build: how each step met the cache (hit, or miss with its reason and the
 * inputs that changed), collected while the build runs and added to the store's history of the
 * Dockerfile when it ends (CacheStore.appendHistory). `tzbuild check` reads that history for its
 * cache advice; nothing in a build reads it.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { BuildHistoryEntry, StepHistory } from '../core/ports.js';
import type { Instruction } from './instructions.js';

/** How a step met the cache, as the step cache tells it. */
export type CacheResult = { cached: true } | { cached: false; reason: string; changed: readonly string[] };

/** Longer instruction texts are cut: the hash finds the step, the text only shows it. */
const maxInstructionText = 200;
/** A step reading a whole context can have thousands of changed files; a sample says enough. */
const maxChangedNames = 100;

/**
 * The history of one Dockerfile is found by its context directory and its path, whatever the
 * target: the advice compares builds of the same file. Both are resolved, so the identity does
 * not depend on the working directory the build ran in.
 */
export function historyIdentity(contextDir: string, dockerfileName: string): string {
  return createHash('sha256')
    .update(JSON.stringify(['history', path.resolve(contextDir), path.resolve(dockerfileName)]))
    .digest('hex');
}

/** Short hash of an instruction's text (`original`): how history entries find their step again. */
export function instructionHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Collects one build's step outcomes; announce a step first, then note its result. */
export class BuildHistoryRecorder {
  private readonly steps = new Map<string, StepHistory>();

  /** A step was announced (FROM steps too: they simply never get a result). */
  announce(stepId: string, instruction: Instruction): void {
    this.steps.set(stepId, {
      stepId,
      line: instruction.range.startLine,
      instruction: instruction.original.slice(0, maxInstructionText),
      instructionHash: instructionHash(instruction.original),
      cached: false,
    });
  }

  /** How the announced step `stepId` met the cache. */
  note(stepId: string, result: CacheResult): void {
    const step = this.steps.get(stepId);
    if (step === undefined) return;
    if (result.cached) {
      this.steps.set(stepId, { ...step, cached: true });
      return;
    }
    const changed = result.changed.slice(0, maxChangedNames);
    this.steps.set(stepId, {
      ...step,
      cached: false,
      reason: result.reason,
      changed,
      ...(result.changed.length > changed.length ? { changedCount: result.changed.length } : {}),
    });
  }

  /** The build as a history entry: the steps that met the cache, in announce order. */
  entry(target: string, time: Date): BuildHistoryEntry {
    const steps = [...this.steps.values()].filter((step) => step.cached || step.reason !== undefined);
    return { v: 1, time: time.toISOString(), target, steps };
  }
}
