/** `tzbuild parse [-f FILE] [--json]`: the parsed instructions, for editors and CI linting. */
import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { UserError } from '../../core/errors.js';
import { decodeDockerfile, parseDockerfile, toParseJson } from '../../builder/parse/index.js';

export async function parseCommand(flags: { file: string; json?: boolean }): Promise<void> {
  const name = flags.file === '-' ? 'Dockerfile' : flags.file;
  let bytes: Buffer;
  try {
    bytes = flags.file === '-' ? await buffer(process.stdin) : await readFile(flags.file);
  } catch (error) {
    throw new UserError(`cannot read ${flags.file}: ${(error as Error).message}`, 'NO_DOCKERFILE');
  }
  const parsed = parseDockerfile(decodeDockerfile(bytes, name), name);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(toParseJson(parsed), null, 2)}\n`);
    return;
  }
  for (const instruction of parsed.instructions) {
    process.stdout.write(`${name}:${instruction.range.startLine}\t${instruction.original}\n`);
  }
}
