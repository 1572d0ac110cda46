/**
 * The JSON `tzbuild parse --json` prints: one entry per instruction, in the shape of the
 * conformance `realworld/expected/*.json` `instructions` lists, so the two compare directly.
 */
import type { Heredoc, ParsedDockerfile } from '../instructions.js';
import type { AstNode } from './ast.js';

/** One instruction as JSON; keys as in the reference output. */
export interface ParseJsonEntry {
  keyword: string;
  flags: string[];
  args: string[];
  json: boolean;
  start_line: number;
  end_line: number;
  heredocs?: Heredoc[];
  onbuild_trigger?: ParseJsonEntry;
}

// Typed instructions drop the AST's exact argument split, so parseDockerfile keeps its AST here.
const astOfParsed = new WeakMap<ParsedDockerfile, AstNode[]>();

/** Records the AST a ParsedDockerfile came from (called by parseDockerfile). */
export function rememberAst(parsed: ParsedDockerfile, nodes: AstNode[]): void {
  astOfParsed.set(parsed, nodes);
}

function entryOf(node: AstNode): ParseJsonEntry {
  const entry: ParseJsonEntry = {
    keyword: node.keyword,
    flags: [...node.flags],
    args: [...node.args],
    json: node.json,
    start_line: node.startLine,
    end_line: node.endLine,
  };
  if (node.heredocs.length > 0) entry.heredocs = node.heredocs.map((heredoc) => ({ ...heredoc }));
  if (node.onbuild) entry.onbuild_trigger = entryOf(node.onbuild);
  return entry;
}

/**
 * The parse JSON of a result of `parseDockerfile` or of `parseAst`. Throws (a bug, not a user
 * error) for a ParsedDockerfile that parseDockerfile did not make.
 */
export function toParseJson(source: ParsedDockerfile | AstNode[]): ParseJsonEntry[] {
  const nodes = Array.isArray(source) ? source : astOfParsed.get(source);
  if (nodes === undefined) throw new Error('toParseJson: this ParsedDockerfile was not made by parseDockerfile');
  return nodes.map(entryOf);
}
