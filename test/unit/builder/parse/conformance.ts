/** Where the shared conformance data lives, and small readers for it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { conformanceDir } from '../../../helpers/paths.js';

/** Absolute path inside ../shared/conformance. */
export function conformancePath(...parts: string[]): string {
  return path.join(conformanceDir, ...parts);
}

export function readConformance(...parts: string[]): string {
  return readFileSync(conformancePath(...parts), 'utf8');
}

export function readConformanceJson<T>(...parts: string[]): T {
  return JSON.parse(readConformance(...parts)) as T;
}

/** Calls `fn` and returns what it threw (undefined when it did not throw). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
