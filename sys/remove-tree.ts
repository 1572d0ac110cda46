/**
 * Removing a directory tree however deep it goes. Node's fs.rm names every entry by its full
 * path, so a tree deeper than PATH_MAX (a RUN can make one with relative mkdirs; so can a
 * context) fails with ENAMETOOLONG and stays, and a store that cannot clear its scratch dirs
 * cannot open. coreutils' rm walks by directory descriptors and removes any depth: it is the
 * fallback, never crossing into another filesystem.
 */
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { childProcess, executable, runQuiet } from './processes.js';

const RM_ARGS = ['-rf', '--one-file-system', '--'];

function tooLong(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENAMETOOLONG';
}

/** Removes `dir` and everything below it (nothing there is fine). */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    if (!tooLong(error)) throw error;
    const removed = await runQuiet('rm', [...RM_ARGS, dir]);
    if (removed.exitCode !== 0) throw new Error(`removing ${dir}: ${removed.stderr.trim() || 'rm failed'}`);
  }
}

/** {@link removeTree}, synchronously (for cleanup on paths that are synchronous). */
export function removeTreeSync(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    if (!tooLong(error)) throw error;
    const removed = childProcess().spawnSync(executable('rm'), [...RM_ARGS, dir], { encoding: 'utf8' });
    if (removed.status !== 0) throw new Error(`removing ${dir}: ${removed.stderr.trim() || 'rm failed'}`);
  }
}
