/**
 * Where COPY/ADD read from, and what of it enters the cache key: the build context (content
 * digest of the named files), another stage (its chain ID) or an image (its manifest digest),
 * heredocs (their text) and, for ADD, URLs (the downloaded bytes).
 */
import { createHash } from 'node:crypto';
import { chainIdOf } from '../history.js';
import { findStage } from '../plan.js';
import type { StepContext } from '../session.js';
import type { LayerRef } from '../../core/ports.js';
import { resolveImageFor } from '../base-image.js';

/** A `--from` (or the context when absent), resolved to what it names. */
export type CopyOrigin =
  | { kind: 'context' }
  | { kind: 'stage'; index: number; layers: LayerRef[]; identity: string }
  | { kind: 'image'; reference: string; layers: LayerRef[]; identity: string };

export async function resolveOrigin(from: string | undefined, ctx: StepContext): Promise<CopyOrigin> {
  if (from === undefined) return { kind: 'context' };
  const stage = findStage(ctx.plan.stages, from);
  if (stage !== undefined && stage.index < ctx.stage.index) {
    const state = await ctx.stageResult(stage.index);
    return { kind: 'stage', index: stage.index, layers: state.layers, identity: chainIdOf(state.layers) ?? 'scratch' };
  }
  const image = await resolveImageFor(ctx, from);
  return { kind: 'image', reference: from, layers: image.layers, identity: image.manifestDigest };
}

export function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
