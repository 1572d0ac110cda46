/**
 * What a build for several platforms needs besides one solver per platform: which stages come out
 * the same for every target platform (so they are built once), the emulator check made before any
 * step runs, and the step count.
 */
import { createHash } from 'node:crypto';
import { DockerfileError } from '../core/errors.js';
import { missingEmulator, runsNatively } from '../sys/binfmt.js';
import type { BuildPlan } from './plan.js';
import { formatPlatform, type PlatformSpec } from './platform.js';

/**
 * One signature per stage: equal in two plans (one per target platform) exactly when the stage's
 * result cannot differ between them. A stage sees the target platform only through its own
 * platform, its FROM (`FROM base-$TARGETARCH`), the ARGs it declares (`ARG TARGETARCH`, or a global
 * ARG whose value used it) and the stages it reads.
 */
export function stageSignatures(plan: BuildPlan): string[] {
  const signatures: string[] = [];
  for (const stage of plan.stages) {
    const declared = stage.instructions.flatMap((instruction) =>
      instruction.kind === 'arg' ? instruction.args.map((decl) => decl.key) : [],
    );
    const parts = [
      stage.index,
      formatPlatform(stage.platform),
      stage.base,
      declared.map((key) => [key, plan.globalArgs.get(key) ?? null]),
      [...stage.deps].sort((a, b) => a - b).map((dep) => signatures[dep] ?? `stage ${dep}`),
    ];
    signatures.push(createHash('sha256').update(JSON.stringify(parts)).digest('hex'));
  }
  return signatures;
}

/**
 * Refuses, before any step runs, a build with a RUN for a platform this machine can only run
 * through an emulator that is not registered: one line naming the platform and how to add one.
 */
export function checkEmulators(plan: BuildPlan, binfmtDir?: string): void {
  for (const index of plan.needed) {
    const stage = plan.stages[index]!;
    if (runsNatively(stage.platform.architecture)) continue;
    const run = stage.instructions.find((instruction) => instruction.kind === 'run');
    if (run === undefined) continue;
    const reason = missingEmulator(stage.platform.architecture, binfmtDir);
    if (reason === undefined) continue;
    throw new DockerfileError(
      `RUN for ${formatPlatform(stage.platform)} needs an emulator: ${reason}`,
      plan.file,
      run.range.startLine,
      undefined,
      'NO_EMULATOR',
    );
  }
}

/** Steps shown for a build of these plans: a stage every plan shares counts once. */
export function countSharedSteps(plans: BuildPlan[], signatures: string[][], common: Set<string>): number {
  const counted = new Set<string>();
  let total = 0;
  plans.forEach((plan, i) => {
    for (const index of plan.needed) {
      const signature = signatures[i]![index]!;
      const key = common.has(signature) ? signature : `${i} ${signature}`;
      if (counted.has(key)) continue;
      counted.add(key);
      total += 1 + plan.stages[index]!.instructions.length;
    }
  });
  return total;
}

/** `linux/arm/v7` → `linux-arm-v7.`: a step ID prefix (step IDs name log files). */
export function platformIdPrefix(platform: PlatformSpec): string {
  return `${formatPlatform(platform).replaceAll('/', '-')}.`;
}
