/**
 * Runs the real `bin/tzbuild` for end-to-end tests, and hands out throwaway store directories
 * that are removed when the test file finishes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll } from 'vitest';
import { repoRoot } from './paths.js';

/** What a tzbuild invocation produced. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options for `runTzbuild`. */
export interface CliOptions {
  /** Working directory (default: the repo root). */
  cwd?: string;
  /** Extra environment, on top of this process's (set `TZBUILD_ROOT` to a `tempStore()`). */
  env?: Record<string, string | undefined>;
  /** Text fed to stdin (e.g. a Dockerfile for `-f -`). */
  input?: string;
  /** Milliseconds before the process is killed (default 120 s). */
  timeout?: number;
}

/** The CLI entry and the compiled code it loads. */
export const tzbuildBin = path.join(repoRoot, 'bin/tzbuild');
const compiledMain = path.join(repoRoot, 'dist/tzbuild/start.cjs');

/** Runs `bin/tzbuild args…`; never throws for a non-zero exit, so tests can assert on it. */
export async function runTzbuild(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  if (!existsSync(compiledMain)) {
    throw new Error(`${compiledMain} is missing: build first (npm run build; npm test does it)`);
  }
  return runNodeScript(tzbuildBin, args, options);
}

/** Runs a Node script the way `runTzbuild` runs the CLI (same options, same result shape). */
export async function runNodeScript(
  script: string,
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [script, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { NO_COLOR: '1', ...options.env },
    input: options.input ?? '',
    reject: false,
    timeout: options.timeout ?? 120_000,
    stripFinalNewline: false,
  });
  const killedBy = result.signal ? os.constants.signals[result.signal] : undefined;
  return { exitCode: result.exitCode ?? 128 + (killedBy ?? 0), stdout: result.stdout, stderr: result.stderr };
}

const stores: string[] = [];

// Registered when a test file imports this module, so it runs after that file's tests.
afterAll(async () => {
  await Promise.all(stores.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh, empty store directory for `TZBUILD_ROOT`, deleted after the current test file. */
export async function tempStore(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-store-'));
  stores.push(dir);
  return dir;
}
