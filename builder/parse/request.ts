/** What every typed-instruction handler receives, and the error it throws. */
import type { Heredoc, SourceRange } from '../instructions.js';
import type { AstNode } from './ast.js';
import { FlagError, parseFlags, type FlagSpec, type FlagValues } from './flags.js';

/** One AST node on its way to a typed instruction. */
export interface InstructionRequest {
  node: AstNode;
  /** BuildKit's `nodeArgs`: the node's arguments (an ONBUILD trigger counts as one). */
  args: string[];
  heredocs: Heredoc[];
  range: SourceRange;
  original: string;
}

/** A typed-stage problem with one instruction; the caller adds file and lines. */
export class InstructionError extends Error {}

/** Parses the node's flags against `spec`, turning flag problems into instruction errors. */
export function flagsOf(request: InstructionRequest, spec: FlagSpec = {}): FlagValues {
  try {
    return parseFlags(request.node.flags, spec);
  } catch (error) {
    if (error instanceof FlagError) throw new InstructionError(error.message);
    throw error;
  }
}

/** The common fields of every instruction. */
export function baseOf(request: InstructionRequest): { range: SourceRange; original: string } {
  return { range: request.range, original: request.original };
}

export function requireExactlyOne(request: InstructionRequest, name: string): string {
  if (request.args.length !== 1) throw new InstructionError(`${name} requires exactly one argument`);
  return request.args[0] ?? '';
}

export function requireAtLeastOne(request: InstructionRequest, name: string): void {
  if (request.args.length === 0) throw new InstructionError(`${name} requires at least one argument`);
}
