/**
 * Where the helper programs are: the Perl and sh files in the package's `helpers/` folder, run as
 * `perl FILE …` and `/bin/sh FILE …` (docs/architecture.md, "Helper programs").
 *
 * This module runs from three places: the source (`sys/` under vitest), tsc's output
 * (`dist/sys/`) and the bundle's chunks (`dist/tzbuild/`, where `import.meta.url` becomes the
 * chunk's own file). So the folder is found by walking up to the package root, the directory
 * whose package.json names tzbuild, once, on the first helper a process starts: a fully cached
 * build starts none and never pays for the walk.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every helper program, as named in `helpers/` (the unit test checks the folder against it). */
export const HELPER_FILES = [
  'hide-mount.sh',
  'lock-server.pl',
  'mknod.pl',
  'mount-views.sh',
  'namespace-init.pl',
  'namespace-setup.sh',
  'oci-prelude.sh',
  'oci-supervisor.pl',
  'rootless-exec.sh',
  'step-mounts.sh',
  'syscalls.pl',
] as const;

let helpersDir: string | undefined;

/** Absolute path of `helpers/<name>`. */
export function helperFile(name: string): string {
  return path.join(helperDir(), name);
}

/** Absolute path of the `helpers/` folder (the shells get it as TZB_HELPERS). */
export function helperDir(): string {
  helpersDir ??= findHelperDir(path.dirname(fileURLToPath(import.meta.url)));
  return helpersDir;
}

/** `helpers/` of the first directory from `start` upwards that is tzbuild's package root. */
function findHelperDir(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const helpers = path.join(dir, 'helpers');
    if (existsSync(helpers) && packageName(path.join(dir, 'package.json')) === 'tzbuild') return helpers;
    if (path.dirname(dir) === dir)
      throw new Error(`tzbuild's helpers/ folder was not found above ${start}: the installation is incomplete`);
  }
}

function packageName(file: string): unknown {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}
