/**
 * Directory trees deeper than PATH_MAX, for the tests of what the host cannot name: made by a
 * shell's relative mkdirs (no system call then names a full path), removed by coreutils' rm.
 */
import { execa } from 'execa';

/** Makes `levels` nested `dddddddddd` dirs below `dir` (450 of them reach past PATH_MAX), with a file at the bottom. */
export async function makeDeepTree(dir: string, levels = 450): Promise<void> {
  const script =
    'cd "$1" && i=0; while [ $i -lt "$2" ]; do mkdir dddddddddd && cd dddddddddd; i=$((i+1)); done; echo x > leaf';
  await execa('sh', ['-c', script, 'sh', dir, String(levels)]);
}

/** Removes a tree however deep (Node's fs.rm fails past PATH_MAX). */
export async function removeDeepTree(dir: string): Promise<void> {
  await execa('rm', ['-rf', dir]);
}
