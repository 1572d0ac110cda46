/**
 * The project's layering, checked over the TypeScript import graph (docs/architecture.md,
 * "Modules"). Each top-level source folder has a rank; a module may import its own folder and
 * folders of a lower rank only: an import that points up, or sideways to another folder of the
 * same rank, is a violation. Type-only and dynamic imports count too.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Top-level folders, lowest first; folders on one line have one rank and may not import each other. */
export const layers: readonly (readonly string[])[] = [
  ['core'],
  ['sys'],
  ['layers'],
  ['store'],
  ['archive', 'registry'],
  ['cache', 'runners'],
  ['builder'],
  ['checks', 'containers'],
  ['cli'],
];

/**
 * The only modules that construct port implementations defined elsewhere: the composition root,
 * the store's read-only view for `tzbuild check`, and the CLI's choice of progress sink.
 */
export const compositionRoots: readonly string[] = ['cli/compose.ts', 'cli/progress/choose.ts', 'cli/check-sources.ts'];

const rankOf = new Map(layers.flatMap((folders, rank) => folders.map((folder) => [folder, rank] as const)));

export interface Source {
  /** Path from the repo root, `/`-separated. */
  file: string;
  text: string;
}

/** Every source module under the layer folders. */
export function readSources(root: string): Source[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return walk(rel);
      return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [rel] : [];
    });
  return [...rankOf.keys()].flatMap(walk).map((file) => ({ file, text: readFileSync(path.join(root, file), 'utf8') }));
}

/** Imports that point up or sideways, as `from → to` lines. */
export function layeringViolations(sources: readonly Source[]): string[] {
  const violations: string[] = [];
  for (const { file, text } of sources) {
    const from = file.split('/')[0]!;
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName));
      const to = target.split('/')[0]!;
      if (to === from) continue;
      const fromRank = rankOf.get(from);
      const toRank = rankOf.get(to);
      if (fromRank === undefined || toRank === undefined || toRank >= fromRank) violations.push(`${file} → ${target}`);
    }
  }
  return violations;
}

/** Names of classes that implement an interface of core/ports.ts, with the file declaring each. */
export function portImplementations(sources: readonly Source[]): Map<string, string> {
  const ports = sources.find((source) => source.file === 'core/ports.ts');
  const portNames = new Set<string>();
  if (ports !== undefined) {
    ts.createSourceFile(ports.file, ports.text, ts.ScriptTarget.Latest).forEachChild((node) => {
      if (ts.isInterfaceDeclaration(node)) portNames.add(node.name.text);
    });
  }
  const classes = new Map<string, string>();
  for (const { file, text } of sources) {
    const parsed = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    parsed.forEachChild((node) => {
      if (!ts.isClassDeclaration(node) || node.name === undefined) return;
      const implemented = (node.heritageClauses ?? []).flatMap((clause) =>
        clause.types.map((type) => type.expression.getText(parsed)),
      );
      if (implemented.some((name) => portNames.has(name))) classes.set(node.name.text, file);
    });
  }
  return classes;
}

/** `new X(…)` of a port implementation outside the composition roots and X's own module. */
export function constructionViolations(sources: readonly Source[]): string[] {
  const classes = portImplementations(sources);
  const violations: string[] = [];
  for (const { file, text } of sources) {
    if (compositionRoots.includes(file)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
        const home = classes.get(node.expression.text);
        if (home !== undefined && home !== file) violations.push(`${file} constructs ${node.expression.text}`);
      }
      node.forEachChild(visit);
    };
    visit(
      ts.createSourceFile(
        file,
        text,
        ts.ScriptTarget.Latest,
        true,
        file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
      ),
    );
  }
  return violations;
}
