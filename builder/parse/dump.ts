/** BuildKit's AST dump (`Node.Dump`), the format of the conformance `result` files. */
import type { AstNode } from './ast.js';
import { goQuote } from './text.js';

/** One node as `keyword ["--flag"] "arg" …` (without the surrounding parentheses). */
function dumpNode(node: AstNode): string {
  let text = node.keyword.toLowerCase();
  if (node.flags.length > 0) text += ` [${node.flags.map(goQuote).join(' ')}]`;
  if (node.onbuild) text += ` (${dumpNode(node.onbuild)})`;
  for (const arg of node.args) text += ` ${goQuote(arg)}`;
  return text.trim();
}

/** The whole dump: one `(…)` line per instruction, ending with a newline. */
export function dumpAst(nodes: AstNode[]): string {
  return nodes.map((node) => `(${dumpNode(node)})\n`).join('');
}
