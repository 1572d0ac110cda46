/**
 * Runs one RUN step with a real runner over the cached busybox rootfs, collecting its output,
 * for runner integration tests. Each step gets its own upperdir/workdir under a per-file root.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { RunResult, RunSpec, Runner } from '../../core/ports.js';
import { BUSYBOX_PATH, busyboxRootfs } from './busybox.js';

/** What a step produced. */
export interface StepOutcome {
  result: RunResult;
  stdout: string;
  stderr: string;
  /** The step's layer (overlay upperdir). */
  upperdir: string;
  durationMs: number;
}

let scratchRoot: Promise<string> | undefined;
let counter = 0;

afterAll(async () => {
  if (scratchRoot) await rm(await scratchRoot, { recursive: true, force: true });
});

/** The per-test-file scratch root (created on first use, removed after the file). */
export function stepScratchRoot(): Promise<string> {
  scratchRoot ??= mkdtemp(path.join(os.tmpdir(), 'tzbuild-steps-'));
  return scratchRoot;
}

/** The env a busybox step gets unless the test says otherwise. */
export const DEFAULT_STEP_ENV = [`PATH=${BUSYBOX_PATH}`];

/**
 * Runs `args` as root in `/` over the busybox rootfs; any RunSpec field can be overridden
 * (pass `lowerdirs` to stack extra layers or `[]` for scratch).
 */
export async function runStep(runner: Runner, args: string[], overrides: Partial<RunSpec> = {}): Promise<StepOutcome> {
  const dir = path.join(await stepScratchRoot(), `step-${++counter}`);
  const upperdir = path.join(dir, 'upper');
  const workdir = path.join(dir, 'work');
  await mkdir(upperdir, { recursive: true });
  await mkdir(workdir);
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const spec: RunSpec = {
    lowerdirs: [await busyboxRootfs()],
    upperdir,
    workdir,
    args,
    env: DEFAULT_STEP_ENV,
    cwd: '/',
    uid: 0,
    gid: 0,
    onOutput: (stream, chunk) => chunks[stream].push(chunk),
    ...overrides,
  };
  const started = Date.now();
  const result = await runner.run(spec);
  return {
    result,
    stdout: Buffer.concat(chunks.stdout).toString(),
    stderr: Buffer.concat(chunks.stderr).toString(),
    upperdir,
    durationMs: Date.now() - started,
  };
}
