/** `tzbuild parse [-f FILE] [--json]`: the parsed instructions, for editors and CI linting. */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { UserError } from '../../core/errors.js';
import { parseDockerfile, toParseJson } from '../../builder/parse/index.js';

export async function parseCommand(flags: { file: string; json?: boolean }): Promise<void> {
  const name = flags.file === '-' ? 'Dockerfile' : flags.file;
  let source: string;
  try {
    source = flags.file === '-' ? await text(process.stdin) : await readFile(flags.file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${flags.file}: ${(error as Error).message}`, 'NO_DOCKERFILE');
  }
  const parsed = parseDockerfile(source, name);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(toParseJson(parsed), null, 2)}\n`);
    return;
  }
  for (const instruction of parsed.instructions) {
    process.stdout.write(`${name}:${instruction.range.startLine}\t${instruction.original}\n`);
  }
}
