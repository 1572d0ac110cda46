/**
 * What a step observes, described once: the cache key's `op` and the named inputs that explain
 * a miss ("why did this miss?", cache/keys.ts explainMiss) are both derived from one
 * {@link StepDescription}, so nothing can enter one and not the other. Explanation values are
 * short hashes where they could be long or private: only whether they changed matters.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/digest.js';
import { envMap, type StageState } from './state.js';

/** One thing a step observes. */
export interface StepInput {
  /** What the cache key holds for it (canonical JSON; `undefined` leaves it out of the key). */
  key: unknown;
  /**
   * How a miss explanation shows it: named entries when it has finer parts than the key's value
   * (`arg:X`, `file:P` …), `{}` when the instruction text already shows all of it; by default
   * one entry under the input's own name holding a short hash of `key`.
   */
  explain?: Record<string, string>;
}

/** A step's inputs by name (the names of the key's op); an `undefined` input is absent from both. */
export type StepInputs = Record<string, StepInput | undefined>;

export interface StepDescription {
  /** The instruction as written: explains "the instruction changed", never in the key (spacing does not matter). */
  instruction: string;
  inputs: StepInputs;
}

/** The cache key's op and the miss explanation's inputs of one description. */
export function describeStep(description: StepDescription): {
  op: Record<string, unknown>;
  explain: Record<string, string>;
} {
  const op: Record<string, unknown> = {};
  const explain: Record<string, string> = { instruction: description.instruction };
  for (const [name, input] of Object.entries(description.inputs)) {
    if (input === undefined) continue;
    op[name] = input.key;
    Object.assign(explain, input.explain ?? { [name]: shortHash(canonicalJson(input.key ?? null)) });
  }
  return { op, explain };
}

/** An input the instruction's own text shows in full (the step's kind, its created_by text). */
export function shownByInstruction(key: unknown): StepInput {
  return { key, explain: {} };
}

/** More files than this and only the sources' total digest is kept (the record stays small). */
export const maxRecordedFiles = 2000;

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/** RUN's environment: each variable, named `arg:X` when it comes from an ARG and `env:X` otherwise. */
export function envInput(state: StageState, env: string[]): StepInput {
  const fromConfig = envMap(state.config);
  const explain: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const kind = !fromConfig.has(key) && state.args.has(key) ? 'arg' : 'env';
    explain[`${kind}:${key}`] = shortHash(entry.slice(eq + 1));
  }
  return { key: [...env].sort(), explain };
}

/** COPY/ADD (and bind mounts): the sources' digest and, for contexts of modest size, each file's summary. */
export function sourceInputs(identity: string, summaries: Map<string, string>): Record<string, string> {
  const inputs: Record<string, string> = { sources: identity };
  if (summaries.size > maxRecordedFiles) return inputs;
  for (const [path, summary] of summaries) inputs[`file:${path}`] = summary;
  return inputs;
}
