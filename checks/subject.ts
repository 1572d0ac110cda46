/**
 * What the rules read: the Dockerfile (its text and lines, AST nodes and typed instructions side
 * by side, stages) with the inputs of the build it would be (build args, target, platform,
 * `.dockerignore`, base image configs found in the store, the store's cache history). Built
 * without planning, so a Dockerfile the planner refuses (two stages of one name) is still checked.
 */
import type { ImageConfig } from '../core/oci.js';
import type { BuildHistoryEntry } from '../core/ports.js';
import type { IgnoreMatcher } from '../builder/context/index.js';
import type { ArgInstruction, FromInstruction, Instruction, ParsedDockerfile } from '../builder/instructions.js';
import { parseAstDocument, type AstDocument, type AstNode, type Directive } from '../builder/parse/index.js';
import { instructionsFromAst } from '../builder/parse/index.js';
import { defaultPlatform, predefinedArgs, type PlatformSpec } from '../builder/platform.js';
import { expandWord } from '../builder/shell/index.js';

/** What the caller knows about the build besides the Dockerfile. */
export interface CheckInputs {
  /** The Dockerfile's text and the name findings use for it. */
  dockerfile: { text: string; name: string };
  buildArgs?: ReadonlyMap<string, string>;
  target?: string;
  platform?: PlatformSpec;
  /** The context's ignore file (none: nothing is ignored). */
  ignore?: IgnoreMatcher;
  /** Names directly in the context directory, directories with a trailing `/` (none: not looked at). */
  contextNames?: readonly string[];
  /** Configs of the base images the store holds, by reference as FROM expands it. */
  baseImages?: ReadonlyMap<string, ImageConfig>;
  /** The store's history of this Dockerfile's builds, oldest first. */
  history?: readonly BuildHistoryEntry[];
}

/** An instruction with the AST node it came from (the node keeps keywords and words as written). */
export interface Entry<I extends Instruction = Instruction> {
  node: AstNode;
  instruction: I;
}

/** What a stage starts from; `unknown` when its FROM does not expand. */
export type StageBase =
  | { kind: 'scratch' }
  | { kind: 'stage'; index: number }
  | { kind: 'image'; reference: string }
  | { kind: 'unknown' };

/** One `FROM … [AS name]` and the instructions under it. */
export interface StageSubject {
  index: number;
  /** The `AS` name lowercased (as stages are looked up). */
  name?: string;
  from: Entry<FromInstruction>;
  steps: Entry[];
  base: StageBase;
}

/** The Dockerfile and the build's inputs, as every rule sees them. */
export interface CheckSubject {
  file: string;
  text: string;
  /** Physical lines without their line endings (BOM removed). */
  lines: readonly string[];
  /** Offset in `text` where each physical line starts (index 0: line 1). */
  lineStarts: readonly number[];
  escapeToken: '\\' | '`';
  directives: readonly Directive[];
  /** The parser's non-fatal findings (empty continuation lines). */
  parseWarnings: readonly { line: number; message: string }[];
  entries: readonly Entry[];
  /** The same parse as the planner takes it. */
  parsed: ParsedDockerfile;
  /** The ARGs before the first FROM. */
  metaArgs: readonly Entry<ArgInstruction>[];
  stages: readonly StageSubject[];
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  platform: PlatformSpec;
  /** What FROM lines expand with: the platform args, then the global ARGs' values. */
  fromEnv: ReadonlyMap<string, string>;
  ignore?: IgnoreMatcher;
  contextNames?: readonly string[];
  baseImages: ReadonlyMap<string, ImageConfig>;
  history: readonly BuildHistoryEntry[];
}

/**
 * The parse of each Dockerfile object: gathering the inputs, checking and planning all read the
 * same `{ text, name }`, and parsing is most of a check's time. (Those objects are never changed:
 * a fix makes a new one.)
 */
const parses = new WeakMap<CheckInputs['dockerfile'], { document: AstDocument; instructions: Instruction[] }>();

function parse(dockerfile: CheckInputs['dockerfile']): { document: AstDocument; instructions: Instruction[] } {
  let parsed = parses.get(dockerfile);
  if (parsed === undefined) {
    const document = parseAstDocument(dockerfile.text, dockerfile.name);
    parsed = { document, instructions: instructionsFromAst(document.nodes, dockerfile.name) };
    parses.set(dockerfile, parsed);
  }
  return parsed;
}

/** Reads the Dockerfile into a subject; throws DockerfileError where the parser does. */
export function readSubject(inputs: CheckInputs): CheckSubject {
  const { text, name: file } = inputs.dockerfile;
  const { document, instructions } = parse(inputs.dockerfile);
  const entries = document.nodes.map((node, index) => ({ node, instruction: instructions[index]! }));
  const firstFrom = entries.findIndex((entry) => entry.instruction.kind === 'from');
  const metaArgs = entries.slice(0, firstFrom < 0 ? entries.length : firstFrom) as Entry<ArgInstruction>[];
  const platform = inputs.platform ?? defaultPlatform();
  const buildArgs = inputs.buildArgs ?? new Map<string, string>();
  const fromEnv = globalArgValues(metaArgs, buildArgs, platform, document.escapeToken);
  const { lines, lineStarts } = splitLines(text);
  return {
    file,
    text,
    lines,
    lineStarts,
    escapeToken: document.escapeToken,
    directives: document.directives,
    parseWarnings: document.warnings,
    entries,
    parsed: {
      instructions,
      escapeToken: document.escapeToken,
      directives: Object.fromEntries(document.directives.map((directive) => [directive.name, directive.value])),
      warnings: document.warnings,
    },
    metaArgs,
    stages: splitStages(entries.slice(metaArgs.length), fromEnv, document.escapeToken),
    buildArgs,
    ...(inputs.target === undefined ? {} : { target: inputs.target }),
    platform,
    fromEnv,
    ...(inputs.ignore === undefined ? {} : { ignore: inputs.ignore }),
    ...(inputs.contextNames === undefined ? {} : { contextNames: inputs.contextNames }),
    baseImages: inputs.baseImages ?? new Map(),
    history: inputs.history ?? [],
  };
}

/**
 * Global ARG values as FROM sees them: build args win over defaults, defaults expand with what
 * came before. `buildArgs` undefined: defaults only (what InvalidDefaultArgInFrom asks about).
 */
export function globalArgValues(
  metaArgs: readonly Entry<ArgInstruction>[],
  buildArgs: ReadonlyMap<string, string> | undefined,
  platform: PlatformSpec,
  escapeToken: '\\' | '`',
): Map<string, string> {
  const env = new Map(Object.entries(predefinedArgs(platform)));
  for (const { instruction } of metaArgs) {
    for (const decl of instruction.args) {
      let value = buildArgs?.get(decl.key);
      if (value === undefined && decl.value !== undefined) value = tryExpand(decl.value, env, escapeToken);
      if (value !== undefined) env.set(decl.key, value);
    }
  }
  return env;
}

/** Expands a word, or undefined when it does not expand (the planner reports that error). */
export function tryExpand(word: string, env: ReadonlyMap<string, string>, escapeToken: '\\' | '`'): string | undefined {
  try {
    return expandWord(word, env, { escapeToken }).value;
  } catch {
    return undefined;
  }
}

function splitStages(entries: Entry[], fromEnv: ReadonlyMap<string, string>, escapeToken: '\\' | '`'): StageSubject[] {
  const stages: StageSubject[] = [];
  for (const entry of entries) {
    if (entry.instruction.kind !== 'from') {
      stages.at(-1)?.steps.push(entry);
      continue;
    }
    const from = entry as Entry<FromInstruction>;
    const name = from.instruction.stageName;
    stages.push({
      index: stages.length,
      ...(name === undefined ? {} : { name }),
      from,
      steps: [],
      base: baseOf(from.instruction, stages, fromEnv, escapeToken),
    });
  }
  return stages;
}

function baseOf(
  from: FromInstruction,
  earlier: StageSubject[],
  fromEnv: ReadonlyMap<string, string>,
  escapeToken: '\\' | '`',
): StageBase {
  const image = tryExpand(from.image, fromEnv, escapeToken);
  if (image === undefined || image.trim() === '') return { kind: 'unknown' };
  const stage = earlier.find((candidate) => candidate.name === image.toLowerCase());
  if (stage !== undefined) return { kind: 'stage', index: stage.index };
  if (image.toLowerCase() === 'scratch') return { kind: 'scratch' };
  return { kind: 'image', reference: image };
}

function splitLines(text: string): { lines: string[]; lineStarts: number[] } {
  const start = text.startsWith('\ufeff') ? 1 : 0;
  const lines: string[] = [];
  const lineStarts: number[] = [];
  let offset = start;
  for (const line of text.slice(start).split('\n')) {
    lineStarts.push(offset);
    lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    offset += line.length + 1;
  }
  return { lines, lineStarts };
}
