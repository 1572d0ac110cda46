/**
 * Helpers for the store tests: the store commands through the real CLI (or, until cli/main.ts
 * registers them, through store-cli.mjs, which loads the same compiled module), builds that
 * report each step's cache result, and what is mounted under a directory.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runNodeScript, runTzbuild, type CliResult } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/build-fixture.js';

export { mountsUnder } from '../../../sys/mounts.js';

let mainHasStoreCommands: Promise<boolean> | undefined;

/** Runs `tzbuild ARGS --root STORE` for the store commands (`system fsck`, `prune`, `builder prune`). */
export async function storeCommand(store: string, args: string[]): Promise<CliResult> {
  mainHasStoreCommands ??= runTzbuild(['system', '--help']).then(
    (result) => result.exitCode === 0 && result.stdout.includes('fsck'),
  );
  const full = [...args, '--root', store];
  if (await mainHasStoreCommands) return runTzbuild(full);
  return runNodeScript(path.join(repoRoot, 'test/e2e/store/store-cli.mjs'), full);
}

/** One step of a build, from `--metadata-file`. */
export interface StepResult {
  text: string;
  /** 1-based Dockerfile line of the instruction. */
  line: number;
  result: 'cached' | 'run' | 'base';
}

/** Runs a build with `--metadata-file`; returns the CLI result and, when it succeeded, its steps. */
export async function buildWithSteps(
  store: string,
  args: string[],
  options: { timeout?: number } = {},
): Promise<CliResult & { steps?: StepResult[] }> {
  const metadata = path.join(await tempDir('meta'), 'metadata.json');
  const result = await runTzbuild(
    ['build', '--root', store, '--progress', 'plain', '--metadata-file', metadata, ...args],
    options,
  );
  if (result.exitCode !== 0) return result;
  const parsed = JSON.parse(await readFile(metadata, 'utf8')) as { steps: StepResult[] };
  return { ...result, steps: parsed.steps };
}
