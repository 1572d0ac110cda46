/**
 * The named inputs a step records for "why did this miss?" (the names cache/keys.ts explainMiss
 * reads). Values are short hashes where they could be long or private: only whether they changed
 * matters.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/digest.js';
import { envMap, type StageState } from './state.js';

/** More files than this and only the sources' total digest is kept (the record stays small). */
export const maxRecordedFiles = 2000;

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/** Metadata steps: the config they start from. */
export function configInputs(state: StageState): Record<string, string> {
  return { config: shortHash(canonicalJson(state.config.config)) };
}

/** RUN: each variable, named `arg:X` when it comes from an ARG and `env:X` otherwise. */
export function envInputs(state: StageState, env: string[]): Record<string, string> {
  const fromConfig = envMap(state.config);
  const inputs: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    const kind = !fromConfig.has(key) && state.args.has(key) ? 'arg' : 'env';
    inputs[`${kind}:${key}`] = shortHash(entry.slice(eq + 1));
  }
  return inputs;
}

/** COPY/ADD: the sources' digest and, for contexts of modest size, each file's summary. */
export function sourceInputs(identity: string, summaries: Map<string, string>): Record<string, string> {
  const inputs: Record<string, string> = { sources: identity };
  if (summaries.size > maxRecordedFiles) return inputs;
  for (const [path, summary] of summaries) inputs[`file:${path}`] = summary;
  return inputs;
}
