/**
 * Cache keys: sha256 of a canonical JSON (sorted keys, version field) of a step's normalised
 * operation plus its parent. Line numbers and comments never enter a key.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/digest.js';

/** Bump when the meaning of a key's fields changes, so old records stop matching. */
export const cacheKeyVersion = 1;

/** The key of a step: hex sha256 of `{ v, parent, op }`. */
export function cacheKey(parent: string, op: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson({ v: cacheKeyVersion, parent, op }))
    .digest('hex');
}

/**
 * Not an input: the recorded inputs also keep the layer the step added (`<diffId> <size>`), so
 * the next run of the step over the same layers below can take the files that stay the same
 * from that layer's snapshot. Never compared.
 */
export const outputInput = 'output';

/** Version of the recorded inputs; records of another version are not compared. */
export const explainFormat = '3';

/**
 * Explains a miss in one line: compares the inputs recorded the last time the same step (same
 * Dockerfile, target and position) ran with this time's, and names what changed, most telling
 * first: the instruction, build args and env, files, the base image, the step below.
 * Input names: `instruction`, `arg:X`, `env:X`, `file:P` (`<type> <mode> <content>`), `sources`,
 * `mount:T`, `image` (what the stage starts from), `base` (chain below the step), `config`, and
 * the plain names of builder/step-inputs.ts descriptions (`user`, `workdir`, `dest`, `platform` …).
 */
export function explainMiss(previous: Record<string, string> | undefined, current: Record<string, string>): string {
  if (previous === undefined) return 'no earlier build of this step';
  if (previous.format !== current.format) return 'no comparable earlier build of this step (tzbuild was upgraded)';
  const changed = new Set(changedInputs(previous, current));
  if (changed.size === 0) return 'cache record missing (pruned, or made by another store)';
  if (changed.has('instruction')) return 'the instruction changed';
  const reasons = [
    ...namesWith(changed, 'arg:').map((name) => `build arg ${name}`),
    ...namesWith(changed, 'env:').map((name) => `ENV ${name}`),
    ...fileChanges(changed, previous, current),
    ...namesWith(changed, 'mount:').map((target) => `--mount ${target}`),
    ...[...changed].flatMap((name) => (plainLabels[name] === undefined ? [] : [plainLabels[name]])),
  ];
  if (reasons.length > 0)
    return `changed: ${reasons.slice(0, 3).join(', ')}${reasons.length > 3 ? ` (+${reasons.length - 3} more)` : ''}`;
  if (changed.has('sources')) return 'changed: the files it copies';
  if (changed.has('image')) return 'the base image changed';
  if (changed.has('base')) return 'a step before it changed';
  return 'an earlier instruction changed the image config';
}

/**
 * The names of the inputs that differ between the last build of a step and this one, sorted (the
 * cache history keeps them, so advice can say what keeps changing). Empty when there is nothing
 * comparable: no earlier build, or one recorded by another version.
 */
export function changedInputs(previous: Record<string, string> | undefined, current: Record<string, string>): string[] {
  if (previous === undefined || previous.format !== current.format) return [];
  return [...new Set([...Object.keys(previous), ...Object.keys(current)])]
    .filter((name) => name !== outputInput && previous[name] !== current[name])
    .sort();
}

/** How plain input names read in a reason. */
const plainLabels: Record<string, string> = {
  user: 'USER',
  workdir: 'WORKDIR',
  network: '--network',
  dest: 'the destination',
  chown: '--chown',
  chmod: '--chmod',
  argv: 'the command (SHELL)',
  platform: 'the platform',
  script: 'the heredoc script',
  mounts: 'a --mount',
  paths: 'the source paths',
  destIsDir: 'the destination',
  heredocs: 'the heredoc content',
  urls: 'the downloaded files',
  excludes: '--exclude',
  parents: '--parents',
  path: 'the path',
};

function namesWith(changed: Set<string>, prefix: string): string[] {
  return [...changed]
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length))
    .sort();
}

/** `file src/a.c (content)`, `file b (mode)`, `file c (added)`, `file d (removed)`. */
function fileChanges(
  changed: Set<string>,
  previous: Record<string, string>,
  current: Record<string, string>,
): string[] {
  return namesWith(changed, 'file:').map((path) => {
    const before = previous[`file:${path}`];
    const after = current[`file:${path}`];
    if (before === undefined) return `file ${path} (added)`;
    if (after === undefined) return `file ${path} (removed)`;
    const [typeBefore, modeBefore] = before.split(' ');
    const [typeAfter, modeAfter] = after.split(' ');
    if (typeBefore !== typeAfter) return `file ${path} (type)`;
    return `file ${path} (${modeBefore !== modeAfter ? 'mode' : 'content'})`;
  });
}
