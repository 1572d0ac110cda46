/**
 * Builds killed with SIGKILL at a random moment, 50 times on one store: 5 ms up to a little more
 * than a whole build takes here (measured first, and narrowed whenever a build beats its kill),
 * so that most kills land mid-build however fast or loaded the machine is. After
 * each kill: `system fsck` (whose store open runs recovery) must find nothing wrong, nothing may
 * stay mounted under the store, and the same build must then succeed and produce the right image.
 * Build args vary so kills land in every phase: unpacking, RUN, layer ingest, records, tagging.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadedStore, readIn, unpack, writeContext } from '../../helpers/build-fixture.js';
import { runTzbuild, tzbuildBin } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { mountsUnder, storeCommand } from './fixture.js';

const KILLS = 50;

const DOCKERFILE = [
  'FROM busybox:latest',
  'ARG K',
  'ARG J',
  'RUN echo "k $K" > /k && dd if=/dev/zero of=/zeros bs=64k count=8 2>/dev/null',
  'COPY f.txt /f.txt',
  'RUN echo "j $J" >> /k && cat /f.txt >> /k',
  'USER 1000',
  'RUN id -u > /tmp/uid',
].join('\n');

/** A seeded generator, so a failing run can be repeated (the seed is printed). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('crash safety', () => {
  it(`keeps the store consistent across ${KILLS} builds killed with SIGKILL`, async () => {
    const seed = Number(process.env.TZBUILD_CRASH_SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    const store = await loadedStore();
    const context = await writeContext({ Dockerfile: DOCKERFILE, 'f.txt': 'from the context\n' });
    // How long a build with every step missing takes here (the second one: the first also
    // unpacks the base image): kills are spread over that span.
    let timed = 0;
    for (const warm of ['warm1', 'warm2']) {
      timed = Date.now();
      const result = await runTzbuild([
        'build',
        '--root',
        store,
        '--progress',
        'plain',
        '--build-arg',
        `K=${warm}`,
        '--build-arg',
        `J=${warm}`,
        context,
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
    }
    let span = Math.max(200, 1.1 * (Date.now() - timed));
    const started = Date.now();
    const inconsistencies: string[] = [];
    let killedMidway = 0;
    for (let i = 0; i < KILLS; i++) {
      // K changes every other build, J every build: some steps hit, some run when the kill comes.
      const args = ['--build-arg', `K=${Math.floor(i / 2)}`, '--build-arg', `J=${i}`, '-t', `crash:${i}`, context];
      const delay = 5 + Math.floor(next() * span);
      const child = execa(process.execPath, [tzbuildBin, 'build', '--root', store, '--progress', 'plain', ...args], {
        cwd: repoRoot,
        reject: false,
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const outcome = await child;
      clearTimeout(timer);
      if (outcome.signal === 'SIGKILL') killedMidway++;
      // The build finished first (the machine sped up, or it re-ran fewer steps): aim earlier.
      else span = Math.max(100, span * 0.85);

      const fsck = await storeCommand(store, ['system', 'fsck']);
      if (fsck.exitCode !== 0 || !fsck.stdout.includes('fsck: 0 problems found'))
        inconsistencies.push(`kill ${i} (${delay} ms): ${fsck.stdout}${fsck.stderr}`);
      const mounts = await mountsUnder(store);
      if (mounts.length > 0) inconsistencies.push(`kill ${i} (${delay} ms): still mounted: ${mounts.join(', ')}`);
      const rebuilt = await runTzbuild(['build', '--root', store, '--progress', 'plain', ...args]);
      if (rebuilt.exitCode !== 0) inconsistencies.push(`rebuild ${i}: ${rebuilt.stderr}`);
    }
    const elapsed = Date.now() - started;
    console.log(
      `crash test (seed ${seed}): ${KILLS} builds, ${killedMidway} killed mid-build, ${inconsistencies.length} ` +
        `inconsistencies, ${elapsed} ms`,
    );
    expect(inconsistencies).toEqual([]);
    expect(killedMidway).toBeGreaterThan(KILLS / 2);

    // The last images are whole: their files as the Dockerfile wrote them.
    for (const i of [KILLS - 2, KILLS - 1]) {
      const rootfs = await unpack(store, `crash:${i}`);
      expect(await readIn(rootfs, '/k')).toBe(`k ${Math.floor(i / 2)}\nj ${i}\nfrom the context\n`);
      expect(await readIn(rootfs, '/tmp/uid')).toBe('1000\n');
    }
    const final = await storeCommand(store, ['system', 'fsck']);
    expect(final.stdout).toContain('fsck: 0 problems found');
    // Nothing of the killed builds is left in flight: no partial ingests, no scratch dirs of the dead.
    expect((await execa('ls', ['-A', `${store}/ingest`])).stdout).toBe('');
  }, 600_000);
});
