/**
 * The typed stage: AST nodes → {@link Instruction}s, one handler per instruction kind, plus the
 * whole-file rule that only ARG may come before the first FROM.
 */
import { DockerfileError } from '../../core/errors.js';
import type { Instruction, InstructionKind, OnbuildInstruction, ParsedDockerfile } from '../instructions.js';
import { withSuggestion } from '../suggest.js';
import { parseAstDocument, type AstNode } from './ast.js';
import { InstructionError, flagsOf, baseOf, type InstructionRequest } from './request.js';
import { parseCmd, parseEntrypoint, parseHealthcheck, parseRun, parseShell } from './typed-commands.js';
import { parseAdd, parseCopy } from './typed-files.js';
import {
  parseArg,
  parseEnv,
  parseExpose,
  parseFrom,
  parseLabel,
  parseMaintainer,
  parseStopsignal,
  parseUser,
  parseVolume,
  parseWorkdir,
} from './typed-simple.js';
import { rememberAst } from './parse-json.js';

type Handler<K extends InstructionKind> = (request: InstructionRequest) => Extract<Instruction, { kind: K }>;

/** One handler per instruction; a missing one is a compile error. */
const HANDLERS: { [K in InstructionKind]: Handler<K> } = {
  from: parseFrom,
  run: parseRun,
  cmd: parseCmd,
  entrypoint: parseEntrypoint,
  shell: parseShell,
  label: parseLabel,
  maintainer: parseMaintainer,
  expose: parseExpose,
  env: parseEnv,
  add: parseAdd,
  copy: parseCopy,
  volume: parseVolume,
  user: parseUser,
  workdir: parseWorkdir,
  arg: parseArg,
  onbuild: parseOnbuild,
  stopsignal: parseStopsignal,
  healthcheck: parseHealthcheck,
};

const INSTRUCTION_NAMES = Object.keys(HANDLERS);

function isInstructionKind(word: string): word is InstructionKind {
  return Object.hasOwn(HANDLERS, word);
}

/** Converts one AST node; `range` defaults to the node's own lines (a trigger borrows its parent's). */
function toInstruction(node: AstNode, request: Omit<InstructionRequest, 'node' | 'args'>): Instruction {
  const kind = node.keyword.toLowerCase();
  if (!isInstructionKind(kind)) {
    // Suggest in the case the user wrote: `foo` → `from`, `FOO` → `FROM`.
    const upper = node.keyword === node.keyword.toUpperCase();
    const names = INSTRUCTION_NAMES.map((name) => (upper ? name.toUpperCase() : name));
    throw new InstructionError(withSuggestion(`unknown instruction: ${node.keyword}`, node.keyword, names));
  }
  const args = node.onbuild ? [node.onbuild.original] : node.args;
  return (HANDLERS[kind] as Handler<InstructionKind>)({ ...request, node, args });
}

/** ONBUILD <INSTRUCTION>: the trigger is parsed now so mistakes show at build time of this image. */
function parseOnbuild(request: InstructionRequest): OnbuildInstruction {
  const trigger = request.node.onbuild;
  if (trigger === undefined) throw new InstructionError('ONBUILD requires at least one argument');
  flagsOf(request);
  const triggerKeyword = trigger.keyword.toUpperCase();
  if (triggerKeyword === 'ONBUILD') throw new InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (triggerKeyword === 'MAINTAINER' || triggerKeyword === 'FROM') {
    throw new InstructionError(`${triggerKeyword} isn't allowed as an ONBUILD trigger`);
  }
  let expression = request.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const heredoc of request.heredocs) expression += `\n${heredoc.content}${heredoc.name}`;
  const parsedTrigger = toInstruction(trigger, { ...request, original: trigger.original });
  return { kind: 'onbuild', ...baseOf(request), expression, trigger: parsedTrigger };
}

/** Converts one top-level node, naming the file and lines on failure. */
function typedOrThrow(node: AstNode, file: string): Instruction {
  const range = { startLine: node.startLine, endLine: node.endLine };
  try {
    return toInstruction(node, { heredocs: node.heredocs, range, original: node.original });
  } catch (error) {
    if (!(error instanceof InstructionError)) throw error;
    throw new DockerfileError(error.message, file, range.startLine, range.endLine, 'DOCKERFILE_INSTRUCTION');
  }
}

/** Converts AST nodes to instructions, naming the file and line of the first problem. */
export function instructionsFromAst(nodes: AstNode[], file = 'Dockerfile'): Instruction[] {
  const instructions: Instruction[] = [];
  let sawFrom = false;
  for (const node of nodes) {
    const instruction = typedOrThrow(node, file);
    if (instruction.kind === 'from') sawFrom = true;
    else if (!sawFrom && instruction.kind !== 'arg') {
      const { startLine, endLine } = instruction.range;
      throw new DockerfileError('no build stage in current context', file, startLine, endLine, 'DOCKERFILE_NO_STAGE');
    }
    instructions.push(instruction);
  }
  return instructions;
}

/**
 * Parses one ONBUILD trigger expression as stored in an image's `OnBuild` list (heredocs
 * included). No FROM is needed; ONBUILD, FROM and MAINTAINER are refused as Docker does.
 */
export function parseOnbuildTrigger(expression: string, file = 'Dockerfile'): Instruction {
  const nodes = parseAstDocument(`${expression}\n`, file).nodes;
  if (nodes.length !== 1) throw new DockerfileError('an ONBUILD trigger must be exactly one instruction', file, 1);
  const [node] = nodes as [AstNode];
  const wrapper: AstNode = { ...node, keyword: 'ONBUILD', flags: [], args: [], json: false, onbuild: node };
  const onbuild = typedOrThrow(wrapper, file);
  if (onbuild.kind !== 'onbuild') throw new Error('parseOnbuildTrigger: expected an ONBUILD wrapper');
  return onbuild.trigger;
}

/**
 * Parses a Dockerfile into typed instructions (values not yet variable-expanded). Throws
 * DockerfileError, with the 1-based line, for anything BuildKit rejects while parsing.
 */
export function parseDockerfile(text: string, file = 'Dockerfile'): ParsedDockerfile {
  const document = parseAstDocument(text, file);
  const parsed: ParsedDockerfile = {
    instructions: instructionsFromAst(document.nodes, file),
    escapeToken: document.escapeToken,
    directives: Object.fromEntries(document.directives.map((directive) => [directive.name, directive.value])),
    warnings: document.warnings,
  };
  rememberAst(parsed, document.nodes);
  return parsed;
}
