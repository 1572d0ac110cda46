/**
 * The dispatch table: one handler per instruction kind. The mapped type makes a missing handler a
 * compile error. Metadata handlers are pure (steps/metadata.ts); RUN, COPY, ADD and WORKDIR touch
 * ports through their own modules.
 */
import type { Instruction, InstructionKind } from './instructions.js';
import type { StepContext } from './session.js';
import type { StageState } from './state.js';
import { cachedStep } from './step-cache.js';
import { withStep } from './history.js';
import { shownByInstruction } from './step-inputs.js';
import * as meta from './steps/metadata.js';
import { runStep } from './steps/run.js';
import { copyStep } from './steps/copy.js';
import { workdirStep } from './steps/workdir.js';

type Handler<K extends InstructionKind> = (
  state: StageState,
  instruction: Extract<Instruction, { kind: K }>,
  ctx: StepContext,
) => Promise<StageState>;

type Pure<K extends InstructionKind> = (
  state: StageState,
  instruction: Extract<Instruction, { kind: K }>,
  ctx: meta.MetadataContext,
) => meta.MetadataResult;

/** Wraps a pure config step: keyed like any step (so a rebuild shows it CACHED), never a layer. */
function metadata<K extends InstructionKind>(apply: Pure<K>): Handler<K> {
  return async (state, instruction, ctx) => {
    const result = apply(state, instruction, {
      file: ctx.plan.file,
      escapeToken: ctx.plan.escapeToken,
      buildArgs: ctx.plan.buildArgs,
      globalArgs: ctx.plan.globalArgs,
    });
    const outcome = await cachedStep(ctx, state, {
      description: {
        instruction: result.createdBy,
        inputs: {
          kind: shownByInstruction(instruction.kind),
          createdBy: shownByInstruction(result.createdBy),
          config: { key: state.config.config },
        },
      },
      execute: async () => undefined,
    });
    return result.history === false ? result.state : withStep(result.state, result.createdBy, outcome);
  };
}

const handlers: { [K in InstructionKind]: Handler<K> } = {
  // FROM is handled by the solver when a stage starts; it never reaches the table mid-stage.
  from: async (state) => state,
  env: metadata(meta.applyEnv),
  label: metadata(meta.applyLabel),
  maintainer: metadata(meta.applyMaintainer),
  cmd: metadata(meta.applyCmd),
  entrypoint: metadata(meta.applyEntrypoint),
  shell: metadata(meta.applyShell),
  expose: metadata(meta.applyExpose),
  volume: metadata(meta.applyVolume),
  user: metadata(meta.applyUser),
  stopsignal: metadata(meta.applyStopsignal),
  healthcheck: metadata(meta.applyHealthcheck),
  onbuild: metadata(meta.applyOnbuild),
  arg: metadata(meta.applyArg),
  workdir: workdirStep,
  run: runStep,
  copy: copyStep,
  add: copyStep,
};

/** Runs one instruction against a stage state. */
export function runInstruction(state: StageState, instruction: Instruction, ctx: StepContext): Promise<StageState> {
  const handler = handlers[instruction.kind] as Handler<typeof instruction.kind>;
  return handler(state, instruction as never, ctx);
}
