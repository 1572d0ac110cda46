/**
 * Planning: ParsedDockerfile → BuildPlan. Splits the instructions into stages, evaluates the
 * global ARGs, expands FROM, resolves `--from` references to stages or images, checks the
 * dependency graph (cycles, forward references), picks the target and the stages it needs.
 * Everything here needs the whole file but no image: the "convert" stage of BuildKit.
 */
import { DockerfileError } from '../core/errors.js';
import type {
  CopyInstruction,
  FromInstruction,
  Instruction,
  ParsedDockerfile,
  RunInstruction,
} from './instructions.js';
import { expandOrThrow } from './expand.js';
import { parseMountSpec } from './mounts.js';
import { withSuggestion } from './suggest.js';
import { checkCycles, checkForwardReferences, neededStages } from './stage-graph.js';
import { isKnownSignal } from './signals.js';
import { defaultPlatform, parsePlatform, predefinedArgs, type PlatformSpec } from './platform.js';

/** Where a stage starts from. */
export type StageBase = { kind: 'scratch' } | { kind: 'stage'; index: number } | { kind: 'image'; reference: string };

/** One `FROM … [AS name]` and the instructions under it. */
export interface StagePlan {
  index: number;
  /** Lowercased `AS` name, if any. */
  name?: string;
  from: FromInstruction;
  base: StageBase;
  instructions: Instruction[];
  /** Stages this one reads (its base and every `--from`), by index. */
  deps: Set<number>;
  /** The line of the first instruction naming each dep (its `--from`, or the FROM of a stage base). */
  depLines: Map<number, number>;
  /** `--from` images this stage reads that are not stages. */
  imageRefs: Set<string>;
  /**
   * The platform the stage's steps run for: its `FROM --platform`, else its base stage's, else
   * the build's target platform.
   */
  platform: PlatformSpec;
  /** True when `FROM --platform` named it (a base image of another platform is then wanted). */
  explicitPlatform: boolean;
}

export interface BuildPlan {
  file: string;
  escapeToken: '\\' | '`';
  stages: StagePlan[];
  /** Index of the stage whose result is the image. */
  target: number;
  /** Stages the target needs, dependencies first. */
  needed: number[];
  /** Global ARGs (before the first FROM) with their values; undefined = declared, no value. */
  globalArgs: Map<string, string | undefined>;
  buildArgs: Map<string, string>;
  /** The target platform (TARGETPLATFORM). */
  platform: PlatformSpec;
}

export interface PlanOptions {
  file: string;
  buildArgs?: Map<string, string>;
  target?: string;
  platform?: PlatformSpec;
}

/** Builds the plan, or throws a DockerfileError naming the line. */
export function planBuild(parsed: ParsedDockerfile, options: PlanOptions): BuildPlan {
  const file = options.file;
  const buildArgs = options.buildArgs ?? new Map<string, string>();
  const platform = options.platform ?? defaultPlatform();
  const { globalArgs, rest } = evaluateGlobalArgs(parsed, file, buildArgs, platform);
  const stages = splitStages(rest, file);
  if (stages.length === 0) throw new DockerfileError('dockerfile contains no stages to build', file);
  const fromEnv = fromExpansionEnv(globalArgs, platform);
  for (const stage of stages) {
    resolveStage(stage, stages, fromEnv, file, parsed.escapeToken);
    stagePlatform(stage, stages, fromEnv, platform, file, parsed.escapeToken);
  }
  checkCycles(stages, file);
  checkForwardReferences(stages, file);
  const target = pickTarget(stages, options.target, file);
  return {
    file,
    escapeToken: parsed.escapeToken,
    stages,
    target,
    needed: neededStages(stages, target),
    globalArgs,
    buildArgs,
    platform,
  };
}

function evaluateGlobalArgs(
  parsed: ParsedDockerfile,
  file: string,
  buildArgs: Map<string, string>,
  platform: PlatformSpec,
) {
  // The platform ARGs are global ARGs too (BuildKit's defaultArgs): a bare `ARG TARGETARCH` in a stage gets its value.
  const predefined: Record<string, string | undefined> = predefinedArgs(platform);
  const globalArgs = new Map<string, string | undefined>(Object.entries(predefined));
  const env = new Map(Object.entries(predefinedArgs(platform)));
  let index = 0;
  for (; index < parsed.instructions.length; index++) {
    const instruction = parsed.instructions[index]!;
    if (instruction.kind !== 'arg') break;
    for (const decl of instruction.args) {
      let value = buildArgs.get(decl.key);
      if (value === undefined && decl.value !== undefined) {
        value = expandOrThrow(decl.value, env, { escapeToken: parsed.escapeToken, file, range: instruction.range });
      }
      // A bare `ARG TARGETARCH` before FROM keeps the predefined value (BuildKit's rule).
      value ??= predefined[decl.key];
      globalArgs.set(decl.key, value);
      if (value !== undefined) env.set(decl.key, value);
    }
  }
  const rest = parsed.instructions.slice(index);
  const stray = rest.find((instruction) => instruction.kind !== 'from');
  if (stray !== undefined && rest[0]?.kind !== 'from') {
    throw new DockerfileError('no build stage in current context', file, stray.range.startLine);
  }
  return { globalArgs, rest };
}

function splitStages(instructions: Instruction[], file: string): StagePlan[] {
  const stages: StagePlan[] = [];
  const names = new Map<string, number>();
  for (const instruction of instructions) {
    if (instruction.kind === 'from') {
      const name = instruction.stageName?.toLowerCase();
      if (name !== undefined) {
        if (names.has(name)) {
          throw new DockerfileError(`duplicate stage name "${name}"`, file, instruction.range.startLine);
        }
        names.set(name, stages.length);
      }
      stages.push({
        index: stages.length,
        ...(name === undefined ? {} : { name }),
        from: instruction,
        base: { kind: 'scratch' },
        instructions: [],
        deps: new Set(),
        depLines: new Map(),
        imageRefs: new Set(),
        platform: defaultPlatform(),
        explicitPlatform: false,
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** FROM sees the global ARGs that have values and the predefined platform args. */
function fromExpansionEnv(globalArgs: Map<string, string | undefined>, platform: PlatformSpec): Map<string, string> {
  const env = new Map(Object.entries(predefinedArgs(platform)));
  for (const [key, value] of globalArgs) if (value !== undefined) env.set(key, value);
  return env;
}

/** Finds a stage by name (case-insensitive) or by index, among `stages`. */
export function findStage(stages: StagePlan[], reference: string): StagePlan | undefined {
  const lower = reference.toLowerCase();
  const named = stages.find((stage) => stage.name === lower);
  if (named !== undefined) return named;
  if (/^\d+$/.test(reference)) return stages[Number(reference)];
  return undefined;
}

function resolveStage(
  stage: StagePlan,
  stages: StagePlan[],
  fromEnv: Map<string, string>,
  file: string,
  escapeToken: '\\' | '`',
): void {
  const from = stage.from;
  const image = expandOrThrow(from.image, fromEnv, { escapeToken, file, range: from.range });
  if (image.trim() === '') {
    throw new DockerfileError(`base name (${from.image}) should not be blank`, file, from.range.startLine);
  }
  const earlier = stages.slice(0, stage.index);
  const baseStage = earlier.find((candidate) => candidate.name === image.toLowerCase());
  if (baseStage !== undefined) {
    stage.base = { kind: 'stage', index: baseStage.index };
    addDep(stage, baseStage.index, from.range.startLine);
  } else if (image.toLowerCase() === 'scratch') {
    stage.base = { kind: 'scratch' };
  } else {
    stage.base = { kind: 'image', reference: image };
  }
  for (const instruction of stage.instructions) resolveInstructionRefs(stage, instruction, stages, file);
}

/**
 * Sets the stage's platform: `FROM --platform=…` (`$BUILDPLATFORM` for the usual cross-compiling
 * stage), else the platform of the stage it starts from, else the target.
 */
function stagePlatform(
  stage: StagePlan,
  stages: StagePlan[],
  fromEnv: Map<string, string>,
  target: PlatformSpec,
  file: string,
  escapeToken: '\\' | '`',
): void {
  const raw = stage.from.platform;
  if (raw === undefined) {
    stage.platform = stage.base.kind === 'stage' ? stages[stage.base.index]!.platform : target;
    return;
  }
  const expanded = expandOrThrow(raw, fromEnv, { escapeToken, file, range: stage.from.range });
  const wanted = parsePlatform(expanded);
  if (wanted === undefined)
    throw new DockerfileError(`invalid platform "${expanded}" in FROM --platform`, file, stage.from.range.startLine);
  stage.platform = wanted;
  stage.explicitPlatform = true;
}

function resolveInstructionRefs(stage: StagePlan, instruction: Instruction, stages: StagePlan[], file: string): void {
  if (instruction.kind === 'copy') resolveCopyFrom(stage, instruction, stages, file);
  if (instruction.kind === 'copy' || instruction.kind === 'add') checkFileFlags(instruction, file);
  if (instruction.kind === 'run') resolveRunMounts(stage, instruction, stages, file);
  // A literal value is checked before anything runs; one with variables once expanded.
  if (instruction.kind === 'stopsignal' && !instruction.signal.includes('$') && !isKnownSignal(instruction.signal))
    throw new DockerfileError(
      `Invalid signal: ${instruction.signal}`,
      file,
      instruction.range.startLine,
      undefined,
      'SIGNAL',
    );
}

function resolveCopyFrom(stage: StagePlan, copy: CopyInstruction, stages: StagePlan[], file: string): void {
  for (const source of copy.sources) {
    if (/^(https?:\/\/|git@)/.test(source) && copy.from === undefined) {
      throw new DockerfileError("source can't be a URL for COPY", file, copy.range.startLine);
    }
  }
  if (copy.from === undefined) return;
  if (copy.from.includes('$')) {
    throw new DockerfileError(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a ' +
        'workaround',
      file,
      copy.range.startLine,
    );
  }
  addReference(stage, copy.from, stages, copy.range.startLine);
}

function resolveRunMounts(stage: StagePlan, run: RunInstruction, stages: StagePlan[], file: string): void {
  for (const raw of run.mounts) {
    const mount = parseMountSpec(raw, file, run.range.startLine);
    if (mount.from !== undefined) addReference(stage, mount.from, stages, run.range.startLine);
  }
}

/** Records a `--from` reference at `line`: a stage (by name or index) or else an image. */
function addReference(stage: StagePlan, reference: string, stages: StagePlan[], line: number): void {
  const target = findStage(stages, reference);
  if (target !== undefined) addDep(stage, target.index, line);
  else stage.imageRefs.add(reference);
}

function addDep(stage: StagePlan, dep: number, line: number): void {
  stage.deps.add(dep);
  if (!stage.depLines.has(dep)) stage.depLines.set(dep, line);
}

const chmodPattern = /^[0-7]{1,4}$/;

function checkFileFlags(instruction: Instruction & { chmod?: string }, file: string): void {
  const chmod = instruction.chmod;
  if (chmod === undefined || chmod.includes('$')) return;
  if (!chmodPattern.test(chmod)) {
    throw new DockerfileError(
      `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`,
      file,
      instruction.range.startLine,
    );
  }
}

function pickTarget(stages: StagePlan[], target: string | undefined, file: string): number {
  if (target === undefined) return stages.length - 1;
  const found = stages.find((stage) => stage.name === target.toLowerCase());
  if (found !== undefined) return found.index;
  const names = stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name]));
  throw new DockerfileError(withSuggestion(`target stage "${target}" could not be found`, target, names), file);
}
