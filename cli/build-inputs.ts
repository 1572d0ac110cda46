/**
 * What `build` and `check` read the same way: the Dockerfile (`-f`, stdin, or CONTEXT/Dockerfile)
 * and `K=V` flag lists (`--build-arg`, `--label`).
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { UserError } from '../core/errors.js';
import { decodeDockerfile } from '../builder/parse/encoding.js';

/** `-f` anywhere (relative to the working dir, as docker does), `-f -` from stdin, else CONTEXT/Dockerfile. */
export async function readDockerfile(
  contextDir: string,
  file: string | undefined,
): Promise<{ text: string; name: string }> {
  if (file === '-') return { text: decodeDockerfile(await buffer(process.stdin), 'Dockerfile'), name: 'Dockerfile' };
  const path = file === undefined ? join(contextDir, 'Dockerfile') : resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UserError(`cannot read Dockerfile ${path}: ${(error as Error).message}`, 'NO_DOCKERFILE');
  }
  // A NUL or a byte that is not UTF-8 is refused here, naming its line, before anything parses it.
  const name = displayName(path);
  return { text: decodeDockerfile(bytes, name), name };
}

function displayName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/** `K=V` list → map. A bare `K` takes the value of the environment variable K (docker's rule). */
export function keyValues(items: string[], flag: string, fromEnv: boolean): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new UserError(`${flag} ${item}: missing name`, 'USAGE');
    if (eq < 0) {
      const value = fromEnv ? process.env[item] : '';
      if (value !== undefined) map.set(item, value);
    } else {
      map.set(item.slice(0, eq), item.slice(eq + 1));
    }
  }
  return map;
}
