/**
 * Eight real `tzbuild build` processes at once on one store, with overlapping Dockerfiles (shared
 * base, shared RUN and COPY steps, per-group and per-build steps), three rounds. Every round
 * changes a build arg the shared steps use, so they must run again. Afterwards: `system fsck`
 * finds nothing, every image holds exactly what its Dockerfile wrote (read with umoci), and every
 * distinct step ran exactly once per round (the others waited on its lock and hit).
 */
import { describe, expect, it } from 'vitest';
import { loadedStore, readIn, unpack, writeContext } from '../../helpers/build-fixture.js';
import { buildWithSteps, mountsUnder, storeCommand } from './fixture.js';

const BUILDS = 8;
const ROUNDS = 3;

/** Build `i`'s Dockerfile: the first steps are shared by all, the next by its group, the last its own. */
function dockerfile(i: number): string {
  const group = i % 2 === 0 ? 'even' : 'odd';
  return [
    'FROM busybox:latest',
    'ARG ROUND',
    'RUN echo "round $ROUND" > /round && sleep 0.5',
    'COPY shared.txt /shared.txt',
    `RUN echo "group ${group}" >> /round && sleep 0.2`,
    `RUN echo "build ${i}" > /me`,
    `ENV BUILD=${i}`,
  ].join('\n');
}

describe('concurrent builds on one store', () => {
  it(`runs each step once per round, ${BUILDS} builds at once, ${ROUNDS} rounds; leaves a clean store`, async () => {
    const store = await loadedStore();
    const contexts = await Promise.all(
      Array.from({ length: BUILDS }, (_, i) =>
        writeContext({ Dockerfile: dockerfile(i), 'shared.txt': 'shared content\n' }),
      ),
    );
    for (let round = 1; round <= ROUNDS; round++) {
      const started = Date.now();
      const results = await Promise.all(
        contexts.map((context, i) =>
          buildWithSteps(store, ['--build-arg', `ROUND=${round}`, '-t', `stress-${i}:${round}`, context], {
            timeout: 240_000,
          }),
        ),
      );
      for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
      // A step is identified by its Dockerfile prefix: same prefix, same inputs, same cache key.
      const runs = new Map<string, number>();
      results.forEach((result, i) => {
        const lines = dockerfile(i).split('\n');
        for (const step of result.steps ?? []) {
          if (step.result !== 'run') continue;
          const prefix = lines.slice(0, step.line).join('\n');
          runs.set(prefix, (runs.get(prefix) ?? 0) + 1);
        }
      });
      // Shared RUN, shared COPY, 2 group RUNs, 8 own RUNs (+ metadata steps, once each too).
      expect(
        [...runs.values()].every((count) => count === 1),
        JSON.stringify([...runs], null, 1),
      ).toBe(true);
      const runSteps = [...runs.keys()].filter((prefix) => /\n(RUN|COPY) [^\n]*$/.test(prefix));
      expect(runSteps).toHaveLength(2 + 2 + BUILDS);
      console.log(
        `stress round ${round}: ${BUILDS} builds in ${Date.now() - started} ms, ${runs.size} distinct steps each run ` +
          `once`,
      );

      const fsck = await storeCommand(store, ['system', 'fsck']);
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
      expect(fsck.stdout).toContain('fsck: 0 problems found');
      expect(await mountsUnder(store)).toEqual([]);
      for (let i = 0; i < BUILDS; i++) {
        const rootfs = await unpack(store, `stress-${i}:${round}`);
        expect(await readIn(rootfs, '/round')).toBe(`round ${round}\ngroup ${i % 2 === 0 ? 'even' : 'odd'}\n`);
        expect(await readIn(rootfs, '/me')).toBe(`build ${i}\n`);
        expect(await readIn(rootfs, '/shared.txt')).toBe('shared content\n');
      }
    }
  }, 600_000);
});
