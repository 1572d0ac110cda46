/**
 * The graph of stages (an edge for each stage a stage reads: its FROM base, a `COPY --from`, a
 * `RUN --mount from=`): cycles and forward references refused naming the lines that make them,
 * and the stages a target needs, in build order. Walked with explicit stacks: a Dockerfile with
 * thousands of chained stages must not overflow the call stack.
 */
import { DockerfileError } from '../core/errors.js';

/** What the graph needs of a stage. */
export interface StageNode {
  index: number;
  name?: string;
  /** Stages this one reads, by index. */
  deps: ReadonlySet<number>;
  /** The line of the first instruction naming each dep (its `--from`, or the FROM of a stage base). */
  depLines: ReadonlyMap<number, number>;
}

/** A stage's deps as a stack: popped in the order they were named. */
function depsToVisit(stage: StageNode): number[] {
  return [...stage.deps].reverse();
}

/** A stage as the user calls it: its name, else its index. */
function stageLabel(stage: { index: number; name?: string }): string {
  return stage.name ?? String(stage.index);
}

/** Refuses a cycle, naming the stage where it closes and every line that forms it. */
export function checkCycles(stages: readonly StageNode[], file: string): void {
  const state = new Map<number, 'visiting' | 'done'>();
  for (const start of stages) {
    if (state.has(start.index)) continue;
    // The path from `start` to the stage being explored, each with the deps still to follow.
    const path: { stage: StageNode; pending: number[] }[] = [{ stage: start, pending: depsToVisit(start) }];
    state.set(start.index, 'visiting');
    while (path.length > 0) {
      const top = path.at(-1)!;
      const next = top.pending.pop();
      if (next === undefined) {
        state.set(top.stage.index, 'done');
        path.pop();
      } else if (state.get(next) === 'visiting') {
        throw cycleError(path, stages[next]!, file);
      } else if (!state.has(next)) {
        state.set(next, 'visiting');
        path.push({ stage: stages[next]!, pending: depsToVisit(stages[next]!) });
      }
    }
  }
}

/** How many lines of a cycle its error lists. */
const MAX_SHOWN_EDGES = 6;

/** `circular dependency detected on stage: a (line 2 reads b, line 5 reads a)`, located at the first of those lines. */
function cycleError(path: readonly { stage: StageNode }[], closing: StageNode, file: string): DockerfileError {
  const from = path.findIndex((entry) => entry.stage.index === closing.index);
  const cycle = path.slice(from).map((entry) => entry.stage);
  const edges = cycle.map((stage, i) => {
    const target = cycle[i + 1] ?? closing;
    return { line: stage.depLines.get(target.index) ?? 0, target };
  });
  const described = edges.map((edge) => `line ${edge.line} reads ${stageLabel(edge.target)}`);
  // A cycle through thousands of stages stays one readable line: its start and its closing edge.
  const shown =
    described.length <= MAX_SHOWN_EDGES
      ? described.join(', ')
      : `${described.slice(0, MAX_SHOWN_EDGES - 1).join(', ')}, … ${described.length - MAX_SHOWN_EDGES} more, ` +
        described.at(-1);
  return new DockerfileError(
    `circular dependency detected on stage: ${stageLabel(closing)} (${shown})`,
    file,
    edges[0]?.line,
  );
}

/** Refuses a `--from` naming a stage defined later (checked after cycles). */
export function checkForwardReferences(stages: readonly StageNode[], file: string): void {
  for (const stage of stages) {
    for (const dep of stage.deps) {
      if (dep < stage.index) continue;
      throw new DockerfileError(
        `cannot copy from stage "${stageLabel(stages[dep]!)}", it needs to be defined before current stage ` +
          `"${stageLabel(stage)}"`,
        file,
        stage.depLines.get(dep),
      );
    }
  }
}

/** The target and everything it reads, dependencies before dependents (the graph has no cycles). */
export function neededStages(stages: readonly StageNode[], target: number): number[] {
  const order: number[] = [];
  const seen = new Set<number>([target]);
  const path: { index: number; pending: number[] }[] = [{ index: target, pending: depsToVisit(stages[target]!) }];
  while (path.length > 0) {
    const top = path.at(-1)!;
    const next = top.pending.pop();
    if (next === undefined) {
      order.push(top.index);
      path.pop();
    } else if (!seen.has(next)) {
      seen.add(next);
      path.push({ index: next, pending: depsToVisit(stages[next]!) });
    }
  }
  return order;
}
