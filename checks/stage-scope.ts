/**
 * What is in effect before each instruction of a stage: the environment names, the ARGs declared,
 * whether a SHELL, an absolute WORKDIR or an ENTRYPOINT was set. A stage starts from its base's:
 * scratch's (PATH only), an earlier stage's end, or an image config the store holds; an image the
 * store lacks leaves the environment unknown (its ENV could define anything).
 */
import type { ImageConfig } from '../core/oci.js';
import type { Instruction } from '../builder/instructions.js';
import type { CheckSubject, StageSubject } from './subject.js';

/** What holds before one instruction. */
export interface Scope {
  /** Names set in the environment; undefined when the base image's are not known. */
  env?: ReadonlySet<string>;
  /** ARGs declared in the stage (and the stage it is built FROM). */
  args: ReadonlySet<string>;
  /** A SHELL was set (in the stage chain or the base image's config). */
  shell: boolean;
  /** An absolute WORKDIR was declared in the build (this stage or one it is built FROM). */
  absoluteWorkdir: boolean;
  /** An ENTRYPOINT is in effect: `unknown` when the base image is not in the store. */
  entrypoint: 'set' | 'none' | 'unknown';
}

/** Per stage: the scope before each step, and at its end. */
export interface StageScopes {
  before: Scope[];
  end: Scope;
}

const computed = new WeakMap<CheckSubject, StageScopes[]>();

/** The scopes of every stage of `subject` (computed once per subject). */
export function stageScopes(subject: CheckSubject): StageScopes[] {
  const known = computed.get(subject);
  if (known !== undefined) return known;
  const scopes: StageScopes[] = [];
  for (const stage of subject.stages) scopes.push(walkStage(stage, baseScope(subject, stage, scopes)));
  computed.set(subject, scopes);
  return scopes;
}

function baseScope(subject: CheckSubject, stage: StageSubject, earlier: StageScopes[]): Scope {
  const base = stage.base;
  const empty = { args: new Set<string>(), shell: false, absoluteWorkdir: false };
  switch (base.kind) {
    case 'scratch':
      return { ...empty, env: new Set(['PATH']), entrypoint: 'none' };
    case 'stage':
      return earlier[base.index]?.end ?? { ...empty, entrypoint: 'unknown' };
    case 'image': {
      const config = subject.baseImages.get(base.reference);
      return config === undefined ? { ...empty, entrypoint: 'unknown' } : imageScope(config);
    }
    case 'unknown':
      return { ...empty, entrypoint: 'unknown' };
  }
}

function imageScope(config: ImageConfig): Scope {
  const settings = config.config ?? {};
  return {
    env: new Set((settings.Env ?? []).map((entry) => entry.split('=')[0] ?? '')),
    args: new Set(),
    shell: (settings.Shell ?? []).length > 0,
    absoluteWorkdir: false,
    entrypoint: (settings.Entrypoint ?? []).length > 0 ? 'set' : 'none',
  };
}

function walkStage(stage: StageSubject, start: Scope): StageScopes {
  const before: Scope[] = [];
  let scope = start;
  for (const { instruction } of stage.steps) {
    before.push(scope);
    scope = after(scope, instruction);
  }
  return { before, end: scope };
}

function after(scope: Scope, instruction: Instruction): Scope {
  switch (instruction.kind) {
    case 'env':
      if (scope.env === undefined) return scope;
      return { ...scope, env: new Set([...scope.env, ...instruction.pairs.map((pair) => pair.key)]) };
    case 'arg':
      return { ...scope, args: new Set([...scope.args, ...instruction.args.map((decl) => decl.key)]) };
    case 'shell':
      return { ...scope, shell: true };
    case 'workdir':
      return isAbsoluteWorkdir(instruction.path) ? { ...scope, absoluteWorkdir: true } : scope;
    case 'entrypoint':
      return { ...scope, entrypoint: 'set' };
    default:
      return scope;
  }
}

/**
 * An absolute WORKDIR: `/…`, or a Windows path (`C:\…`, `\…`: the realworld corpus has many
 * Windows images). One that starts with a variable counts too: its value is usually absolute
 * (`$HOME`), and a guess must not produce a warning.
 */
export function isAbsoluteWorkdir(path: string): boolean {
  // Quotes go before the path is used (`WORKDIR "C:\Program Files"`).
  return /^["']?([/\\$]|[A-Za-z]:[/\\])/.test(path);
}
