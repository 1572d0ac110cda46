/**
 * The TUI in a real terminal: builds run inside tmux (120×40) with the default `--progress=auto`,
 * and the test reads the screen the way a person would (`tmux capture-pane`), during the build
 * and after it: steps side by side with their output, CACHED marks on a rebuild, the summary,
 * and a failure whose error and Dockerfile lines stay on screen under the TUI's last frame.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild, tempStore, tzbuildBin } from '../../helpers/cli.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { repoRoot } from '../../helpers/paths.js';
import { TmuxServer } from '../../helpers/tmux.js';

const privileged = await canRunPrivileged();
const terminal = new TmuxServer();

const PARALLEL = `FROM busybox:latest AS compile
RUN for i in $(seq 1 16); do echo "compile unit $i of 16"; sleep 0.2; done >&2
RUN echo compiled > /compiled.txt

FROM busybox:latest AS assets
RUN for i in $(seq 1 12); do echo "asset $i"; sleep 0.25; done && echo ok > /assets.txt

FROM busybox:latest
COPY --from=compile /compiled.txt /app/
COPY --from=assets /assets.txt /app/
CMD ["cat", "/app/compiled.txt"]
`;

const FAILING = `FROM busybox:latest
RUN echo "preparing"
RUN echo "running checks" && echo "check 2 FAILED: want 3, got 4" >&2 && exit 7
CMD ["true"]
`;

let scratch: string;
let store: string;

beforeAll(async () => {
  if (!privileged) return;
  if (!existsSync(path.join(repoRoot, 'dist/tzbuild/start.cjs'))) throw new Error('build first: npm run build');
  await TmuxServer.ensureInstalled();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-tmux-'));
  store = await tempStore();
  const archive = await makeBusyboxDockerArchive(path.join(scratch, 'busybox.tar'), 'busybox:latest');
  const loaded = await runTzbuild(['load', '--root', store, archive]);
  expect(loaded.exitCode).toBe(0);
  for (const [name, dockerfile] of Object.entries({ parallel: PARALLEL, failing: FAILING })) {
    await mkdir(path.join(scratch, name), { recursive: true });
    await writeFile(path.join(scratch, name, 'Dockerfile'), dockerfile);
  }
});

afterAll(async () => {
  await terminal.kill();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe.skipIf(!privileged)('the TUI in a real terminal (tmux)', () => {
  it('shows parallel stages live, then every step and the summary; a rebuild shows CACHED', async () => {
    const session = await startBuild('cold', [
      '-t',
      'tui:1',
      '--iidfile',
      path.join(scratch, 'iid'),
      path.join(scratch, 'parallel'),
    ]);
    const live = await waitForScreen(
      session,
      (screen) =>
        screen.includes('2 stages in parallel') && /│ compile unit \d+/.test(screen) && /│ asset \d+/.test(screen),
    );
    expect(live).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] tzbuild \d+\/9 steps · 0 cached · 2 stages in parallel · \d+\.\ds$/m);
    // The two running stages side by side: both titles on one line.
    expect(live).toMatch(/▸ compile\s+▸ assets/);
    expect(live).toMatch(/^ ✔ #1 \[compile\] FROM busybox:latest AS compile$/m);

    const done = await waitForExit(session);
    expect(done.exit).toBe(0);
    const imageId = (await execa('cat', [path.join(scratch, 'iid')])).stdout;
    expect(done.screen).toMatch(/^ ✔ #\d+ \[compile\] RUN echo compiled > \/compiled.txt\s+\d+ms {2}[\d.]+k?B$/m);
    expect(done.screen).toMatch(/^ ✔ built in \d+\.\ds: 0 cached, 6 run$/m);
    expect(done.screen).toContain(`   image    ${imageId}`);
    expect(done.screen).toContain('   tags     tui:1');
    expectEachStepOnce(done.history, 9);
    await saveFrameIfAsked(done.screen);

    const warm = await waitForExit(await startBuild('warm', ['-t', 'tui:1', path.join(scratch, 'parallel')]));
    expect(warm.exit).toBe(0);
    expect(
      warm.screen.split('\n').filter((line) => /^ ≡ #\d+ \[\S+\] .*CACHED( \(saved \d+(\.\d)?m?s\))?$/.test(line)),
    ).toHaveLength(6);
    expect(warm.screen).toMatch(/^ ✔ built in \d+\.\ds: 6 cached, 0 run · cache saved \d/m);
    expect(warm.screen).toContain(`   image    ${imageId}`);
  });

  it('a failed step keeps its output, the error and the Dockerfile lines on screen', async () => {
    const failed = await waitForExit(await startBuild('failed', [path.join(scratch, 'failing')]));
    expect(failed.exit).toBe(1);
    const lines = failed.screen.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const step = at(/^ ✘ #3 \[stage-0\] RUN echo "running checks"/);
    const tail = at(/^ {4}│ check 2 FAILED: want 3, got 4$/);
    const summary = at(/^ ✘ build failed at #3 \[stage-0\]/);
    const error = at(/^error: .*Dockerfile:3: process "\/bin\/sh -c echo "running checks"/);
    const snippet = at(/^ 3 \| >>> RUN echo "running checks"/);
    expect(
      [step, tail, summary, error, snippet].every((index) => index >= 0),
      failed.screen,
    ).toBe(true);
    expect(step < tail && tail < summary && summary < error && error < snippet).toBe(true);
    expect(lines[tail - 1]).toBe('    │ running checks');
    expect(failed.screen).toMatch(/full output: \S+\/tmp\/logs\/[^/]+\/0\.2\.log/);
  });
});

/** Starts `tzbuild ARGS` in a new 120×40 session with progress left on auto; returns its name. */
async function startBuild(name: string, args: string[]): Promise<string> {
  const quoted = [tzbuildBin, '--root', store, ...args].map((arg) => `'${arg}'`).join(' ');
  // Unset CI so auto picks the TUI as it would for a person at a terminal.
  return terminal.start(name, `cd '${repoRoot}' && env -u CI '${process.execPath}' ${quoted}`);
}

function waitForScreen(session: string, ready: (screen: string) => boolean): Promise<string> {
  return terminal.waitForScreen(session, ready);
}

function waitForExit(session: string): Promise<{ exit: number; screen: string; history: string }> {
  return terminal.waitForExit(session);
}

/** Finished steps are written once (Ink's <Static>), never redrawn into the scrollback. */
function expectEachStepOnce(history: string, steps: number): void {
  for (let index = 1; index <= steps; index++) {
    const finished = history.split('\n').filter((line) => new RegExp(`^ [✔≡] #${index} \\[`).test(line));
    expect(finished, `step #${index}`).toHaveLength(1);
  }
}

/** `TZBUILD_SAVE_FRAME=docs/tui-frame.txt` refreshes the frame docs/progress.md shows. */
async function saveFrameIfAsked(screen: string): Promise<void> {
  const target = process.env.TZBUILD_SAVE_FRAME;
  if (target) await writeFile(path.resolve(repoRoot, target), `${screen.replace(/\n\[exit \d+\]$/, '')}\n`);
}
