/**
 * What the cache advice recognises in a step: a dependency install (and the manifest files it
 * needs), a COPY of the whole build context.
 */
import type { Instruction } from '../../builder/instructions.js';

/** A package manager's install, and the files that decide what it installs. */
export interface DependencyInstall {
  tool: string;
  /** What to copy before the install, as the advice words it (`package*.json`). */
  manifests: string;
}

const installs: readonly { pattern: RegExp; tool: string; manifests: string }[] = [
  { pattern: /\bnpm\s+(ci|install|i)\b/, tool: 'npm', manifests: 'package*.json' },
  { pattern: /\byarn(\s+install)?\s*(&&|;|\||$|--)/m, tool: 'yarn', manifests: 'package.json and yarn.lock' },
  { pattern: /\bpnpm\s+(install|i)\b/, tool: 'pnpm', manifests: 'package.json and pnpm-lock.yaml' },
  { pattern: /\bpip3?\s+install\b[^&;|]*\s-r\s/, tool: 'pip', manifests: 'requirements*.txt' },
  { pattern: /\bpoetry\s+install\b/, tool: 'poetry', manifests: 'pyproject.toml and poetry.lock' },
  { pattern: /\bpipenv\s+install\b/, tool: 'pipenv', manifests: 'Pipfile and Pipfile.lock' },
  { pattern: /\bgo\s+mod\s+download\b/, tool: 'go', manifests: 'go.mod and go.sum' },
  { pattern: /\bbundle\s+install\b/, tool: 'bundler', manifests: 'Gemfile and Gemfile.lock' },
  { pattern: /\bcomposer\s+install\b/, tool: 'composer', manifests: 'composer.json and composer.lock' },
  { pattern: /\bcargo\s+fetch\b/, tool: 'cargo', manifests: 'Cargo.toml and Cargo.lock' },
  { pattern: /\bmvn\b[^&;|]*\bdependency:(go-offline|resolve)\b/, tool: 'maven', manifests: 'pom.xml' },
  { pattern: /\bdotnet\s+restore\b/, tool: 'dotnet', manifests: 'the *.csproj files' },
];

/** The dependency install a RUN performs, if it is one (the first tool found). */
export function dependencyInstall(instruction: Instruction): DependencyInstall | undefined {
  if (instruction.kind !== 'run') return undefined;
  const text = [...instruction.command.args, ...instruction.heredocs.map((heredoc) => heredoc.content)].join('\n');
  const found = installs.find((install) => install.pattern.test(text));
  return found === undefined ? undefined : { tool: found.tool, manifests: found.manifests };
}

/** Sources that name the whole context (or everything at its top). */
const wholeContext = new Set(['.', './', '*', '/', './*', '.*']);

/** A COPY/ADD from the build context that copies all of it (`COPY . .`, `ADD . /app`). */
export function copiesWholeContext(instruction: Instruction): boolean {
  if (instruction.kind !== 'copy' && instruction.kind !== 'add') return false;
  if (instruction.kind === 'copy' && instruction.from !== undefined) return false;
  return instruction.sources.some((source) => wholeContext.has(source));
}

/** A COPY/ADD from the build context (not another stage or image). */
export function copiesFromContext(instruction: Instruction): boolean {
  if (instruction.kind !== 'copy' && instruction.kind !== 'add') return false;
  return instruction.kind === 'add' || instruction.from === undefined;
}

/** The instruction's text names `word` (a variable `$X`/`${X}`, a path …) as a whole word. */
export function mentions(instruction: Instruction, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const heredocs = 'heredocs' in instruction ? instruction.heredocs.map((heredoc) => heredoc.content) : [];
  return new RegExp(`(^|[^\\w-])${escaped}($|[^\\w-])`).test([instruction.original, ...heredocs].join('\n'));
}

/** How a step reads in advice: `RUN npm ci (line 7)`, long texts cut. */
export function stepLabel(instruction: Instruction): string {
  const text = instruction.original.replace(/\s+/g, ' ').trim();
  return `${text.length > 60 ? `${text.slice(0, 57)}...` : text} (line ${instruction.range.startLine})`;
}
