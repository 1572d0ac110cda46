/** Where the shared conformance data lives, and small readers for it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path inside ../shared/conformance. */
export function conformancePath(...parts: string[]): string {
  return path.join(path.resolve(repoRoot, '../shared/conformance'), ...parts);
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
