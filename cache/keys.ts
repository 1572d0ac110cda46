/**
 * Cache keys: sha256 of a canonical JSON (sorted keys, version field) of a step's normalised
 * operation plus its parent. Line numbers and comments never enter a key.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../image/digest.js';

/** Bump when the meaning of a key's fields changes, so old records stop matching. */
export const cacheKeyVersion = 1;

/** The key of a step: hex sha256 of `{ v, parent, op }`. */
export function cacheKey(parent: string, op: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ v: cacheKeyVersion, parent, op })).digest('hex');
}

/**
 * Explains a miss: compares the inputs recorded the last time the same step identity ran with
 * this time's, and names the first that changed. Returns undefined when nothing is recorded.
 */
export function explainMiss(previous: Record<string, string> | undefined, current: Record<string, string>): string {
  if (previous === undefined) return 'no earlier build of this step';
  const names = [...new Set([...Object.keys(previous), ...Object.keys(current)])].sort();
  const changed = names.filter((name) => previous[name] !== current[name]);
  if (changed.length === 0) return 'cache record missing (pruned or built elsewhere)';
  return `changed: ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` (+${changed.length - 3} more)` : ''}`;
}
