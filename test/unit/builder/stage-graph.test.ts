import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../core/errors.js';
import { checkCycles, checkForwardReferences, neededStages, type StageNode } from '../../../builder/stage-graph.js';

/** Stages from `[name, [dep index, line]…]` lists. */
function graph(...stages: [string | undefined, [number, number][]][]): StageNode[] {
  return stages.map(([name, deps], index) => ({
    index,
    ...(name === undefined ? {} : { name }),
    deps: new Set(deps.map(([dep]) => dep)),
    depLines: new Map(deps),
  }));
}

function thrown(check: () => void): DockerfileError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error('no error');
}

describe('checkCycles', () => {
  it('names the stage where the cycle closes and every line that forms it, located at the first', () => {
    const error = thrown(() =>
      checkCycles(graph(['stage0', [[2, 2]]], ['stage1', [[0, 4]]], ['stage2', [[1, 6]]]), 'Dockerfile'),
    );
    expect(error.message).toBe(
      'Dockerfile:2: circular dependency detected on stage: stage0 (line 2 reads stage2, line 6 reads stage1, ' +
        'line 4 reads stage0)',
    );
    expect(error.location).toEqual({ file: 'Dockerfile', line: 2 });
  });

  it('names the line of a stage reading itself, by index when unnamed', () => {
    expect(thrown(() => checkCycles(graph([undefined, [[0, 3]]]), 'Dockerfile')).message).toBe(
      'Dockerfile:3: circular dependency detected on stage: 0 (line 3 reads 0)',
    );
  });

  it('walks a chain of 100,000 stages without recursion, and accepts one without a cycle', () => {
    const chain = Array.from({ length: 100_000 }, (_, i) => ({
      index: i,
      deps: new Set(i === 0 ? [] : [i - 1]),
      depLines: new Map(i === 0 ? [] : [[i - 1, 2 * i + 2]]),
    }));
    expect(() => checkCycles(chain, 'Dockerfile')).not.toThrow();
    expect(neededStages(chain, 99_999)).toEqual(chain.map((stage) => stage.index));
    chain[0] = { index: 0, deps: new Set([99_999]), depLines: new Map([[99_999, 2]]) };
    const message = thrown(() => checkCycles(chain, 'Dockerfile')).message;
    expect(message).toMatch(/^Dockerfile:2: circular dependency detected on stage: 0 \(line 2 reads 99999, /);
    expect(message).toMatch(/line 200000 reads 99998, .*, … 99994 more, line 4 reads 0\)$/);
  });
});

describe('checkForwardReferences and neededStages', () => {
  it('names the line of a --from that reads a later stage', () => {
    const stages = graph(['target', [[1, 2]]], ['build', []]);
    expect(thrown(() => checkForwardReferences(stages, 'Dockerfile')).message).toBe(
      'Dockerfile:2: cannot copy from stage "build", it needs to be defined before current stage "target"',
    );
  });

  it('orders what the target needs, dependencies first, each once', () => {
    const stages = graph(
      ['base', []],
      ['a', [[0, 3]]],
      ['b', [[0, 5]]],
      [
        'final',
        [
          [1, 7],
          [2, 8],
        ],
      ],
    );
    expect(neededStages(stages, 3)).toEqual([0, 1, 2, 3]);
    expect(neededStages(stages, 2)).toEqual([0, 2]);
  });
});
