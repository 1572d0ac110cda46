/**
 * The Dockerfile parser: text → typed instructions (`parseDockerfile`), the untyped BuildKit-style
 * AST (`parseAst`, `dumpAst`) and the `tzbuild parse --json` view (`toParseJson`).
 */
export { parseAst, parseAstDocument, type AstDocument, type AstNode } from './ast.js';
export { findDirective, type Directive, type FoundDirective } from './directives.js';
export { dumpAst } from './dump.js';
export { decodeDockerfile } from './encoding.js';
export { chompHeredocContent, heredocsFromLine, parseHeredocWord } from './heredoc.js';
export { toParseJson, type ParseJsonEntry } from './parse-json.js';
export { instructionsFromAst, parseDockerfile, parseOnbuildTrigger } from './typed.js';
export { parseGoDuration } from './duration.js';
export { parseWords } from './words.js';
