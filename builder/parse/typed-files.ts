/** Handlers for the file instructions: COPY and ADD. */
import type { AddInstruction, CopyInstruction, FileInstructionBase } from '../instructions.js';
import type { FlagValues } from './flags.js';
import { parseHeredocWord } from './heredoc.js';
import { baseOf, flagsOf, InstructionError, type InstructionRequest } from './request.js';

/** Sources, destination and the flags COPY and ADD share. */
function fileBase(
  request: InstructionRequest,
  name: string,
  flags: FlagValues,
): Omit<FileInstructionBase, 'range' | 'original'> {
  const sources = request.args.slice(0, -1);
  const dest = request.args.at(-1) ?? '';
  if (heredocOrThrow(dest)) throw new InstructionError(`${name} cannot accept a heredoc as a destination`);
  for (const source of sources) heredocOrThrow(source);
  const base: Omit<FileInstructionBase, 'range' | 'original'> = {
    sources,
    dest,
    link: flags.bool('link'),
    json: request.node.json,
    heredocs: request.heredocs,
    excludes: flags.strings('exclude'),
  };
  const chown = flags.string('chown');
  if (chown !== undefined) base.chown = chown;
  const chmod = flags.string('chmod');
  if (chmod !== undefined) base.chmod = chmod;
  return base;
}

function heredocOrThrow(word: string): boolean {
  try {
    return parseHeredocWord(word) !== undefined;
  } catch (error) {
    throw new InstructionError((error as Error).message);
  }
}

function requireDestination(request: InstructionRequest, name: string): void {
  if (request.args.length < 2) {
    throw new InstructionError(
      `${name} requires at least two arguments, but only one was provided. Destination could not be determined`,
    );
  }
}

/** COPY [--from=…] [--chown=…] [--chmod=…] [--link] [--parents] [--exclude=…] <src>... <dest> */
export function parseCopy(request: InstructionRequest): CopyInstruction {
  requireDestination(request, 'COPY');
  const flags = flagsOf(request, {
    chown: 'string',
    from: 'string',
    chmod: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'strings',
  });
  const copy: CopyInstruction = { kind: 'copy', ...baseOf(request), ...fileBase(request, 'COPY', flags) };
  const from = flags.string('from');
  if (from !== undefined) copy.from = from;
  if (flags.bool('parents')) copy.parents = true;
  return copy;
}

/** ADD [--chown=…] [--chmod=…] [--link] [--checksum=…] [--keep-git-dir] [--exclude=…] <src>... <dest> */
export function parseAdd(request: InstructionRequest): AddInstruction {
  requireDestination(request, 'ADD');
  const flags = flagsOf(request, {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    exclude: 'strings',
  });
  const add: AddInstruction = { kind: 'add', ...baseOf(request), ...fileBase(request, 'ADD', flags) };
  const checksum = flags.string('checksum');
  if (checksum !== undefined) add.checksum = checksum;
  if (flags.bool('keep-git-dir')) add.keepGitDir = true;
  return add;
}
