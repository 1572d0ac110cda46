/**
 * The untyped stage: Dockerfile text → BuildKit-style AST nodes (keyword, flags, args, heredocs,
 * lines). Accepts anything BuildKit's parser accepts; argument counts and flag names are checked
 * later, by the typed stage.
 */
import { DockerfileError } from '../../core/errors.js';
import type { Heredoc } from '../instructions.js';
import { escapeTokenOf, readDirectives, DirectiveError, type Directive } from './directives.js';
import { heredocsFromLine } from './heredoc.js';
import { ArgsError, parseArgs } from './line-parsers.js';
import { LineScanner, physicalLines, ScanError, type LogicalLine } from './scanner.js';
import { trimGo, WHITESPACE_RUN } from './text.js';
import { extractFlags } from './words.js';

/** One instruction as BuildKit's parser sees it. */
export interface AstNode {
  /** The instruction word as written (`run`, `Run`, `RUN`). */
  keyword: string;
  /** Leading `--name[=value]` words, quotes removed, `--` kept. */
  flags: string[];
  /** Arguments as split for this instruction (see the line parsers); empty for ONBUILD. */
  args: string[];
  /** Exec (JSON array) form. */
  json: boolean;
  /** Heredocs with their bodies (RUN/COPY/ADD, also under ONBUILD). */
  heredocs: Heredoc[];
  /** 1-based inclusive lines; 0 for an ONBUILD trigger, as in BuildKit. */
  startLine: number;
  endLine: number;
  /** The logical line (continuations joined, comments dropped). */
  original: string;
  /** ONBUILD only: the nested trigger instruction. */
  onbuild?: AstNode;
}

/** A parsed file: nodes plus what the leading block and the scanner found. */
export interface AstDocument {
  nodes: AstNode[];
  escapeToken: '\\' | '`';
  directives: Directive[];
  warnings: { line: number; message: string }[];
}

const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add']);

/** Parses Dockerfile text into AST nodes; throws DockerfileError where BuildKit's parser fails. */
export function parseAstDocument(text: string, file = 'Dockerfile'): AstDocument {
  try {
    return parseLines(text);
  } catch (error) {
    if (error instanceof ScanError || error instanceof DirectiveError) {
      const endLine = error instanceof ScanError ? error.endLine : undefined;
      throw new DockerfileError(error.message, file, error.line, endLine, 'DOCKERFILE_PARSE');
    }
    throw error;
  }
}

/** The AST nodes of a Dockerfile (BuildKit's `parser.Parse`). */
export function parseAst(text: string, file = 'Dockerfile'): AstNode[] {
  return parseAstDocument(text, file).nodes;
}

function parseLines(text: string): AstDocument {
  const lines = physicalLines(text);
  const directives = readDirectives(lines.map((line) => line.replace(/[\r\n]+$/, '')));
  const escapeToken = escapeTokenOf(directives.find((directive) => directive.name === 'escape'));
  const scanner = new LineScanner(lines, escapeToken);
  const nodes: AstNode[] = [];
  const warnings: AstDocument['warnings'] = [];
  for (let logical = scanner.readLogical(); logical; logical = scanner.readLogical()) {
    if (logical.hadEmptyContinuation) warnings.push(emptyContinuationWarning(logical));
    const node = withLocation(logical, () => nodeFromLine(logical.text, escapeToken));
    node.startLine = logical.startLine;
    node.heredocs = readHeredocs(scanner, node, logical);
    node.endLine = scanner.lineNumber;
    nodes.push(node);
  }
  if (nodes.length === 0) throw new ScanError('file with no instructions');
  return { nodes, escapeToken, directives, warnings };
}

function emptyContinuationWarning(logical: LogicalLine): { line: number; message: string } {
  return {
    line: logical.endLine,
    message:
      `Empty continuation line found in: ${logical.text}. ` +
      'Empty continuation lines will become errors in a future release',
  };
}

function withLocation<T>(logical: LogicalLine, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ArgsError) throw new ScanError(error.message, logical.startLine, logical.endLine);
    throw error;
  }
}

/** Builds one node from a logical line (BuildKit's `newNodeFromLine`); lines are set by the caller. */
export function nodeFromLine(line: string, escapeToken: string): AstNode {
  const trimmed = trimGo(line);
  const split = WHITESPACE_RUN.exec(trimmed);
  const keyword = split ? trimmed.slice(0, split.index) : trimmed;
  const { flags, rest } = split ? extractFlags(trimmed.slice(split.index + split[0].length)) : { flags: [], rest: '' };
  const parsed = parseArgs(keyword, trimGo(rest), escapeToken);
  const node: AstNode = {
    keyword,
    flags,
    args: parsed.args,
    json: parsed.json,
    heredocs: [],
    startLine: 0,
    endLine: 0,
    original: line,
  };
  if (parsed.trigger !== undefined) node.onbuild = nodeFromLine(parsed.trigger, escapeToken);
  return node;
}

/** Reads the bodies of the heredocs a RUN/COPY/ADD line opens (also under ONBUILD). */
function readHeredocs(scanner: LineScanner, node: AstNode, logical: LogicalLine): Heredoc[] {
  const target = node.onbuild ?? node;
  if (!HEREDOC_KEYWORDS.has(target.keyword.toLowerCase()) || target.json || !logical.text.includes('<<')) return [];
  let heredocs: Heredoc[];
  try {
    heredocs = heredocsFromLine(logical.text);
  } catch (error) {
    throw new ScanError((error as Error).message, logical.startLine, logical.endLine);
  }
  for (const heredoc of heredocs) {
    try {
      heredoc.content = scanner.readHeredocBody(heredoc.name, heredoc.chomp);
    } catch (error) {
      throw new ScanError((error as Error).message, logical.startLine, scanner.lineNumber);
    }
  }
  return heredocs;
}
