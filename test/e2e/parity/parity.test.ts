/**
 * Docker parity: every Dockerfile of the corpus is built by a real dockerd (BuildKit) and by
 * tzbuild, and the two images are compared: config, layers and history, and the filesystem a
 * container sees. Differences must be exactly those listed in known-differences.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { BASE, loadedStore } from '../../helpers/build-fixture.js';
import { corpusDir, loadCorpus, type ParityCase } from './corpus.js';
import { serveDirectory, type StaticServer } from './http-server.js';
import { startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';
import { compareFilesystems } from './filesystem.js';
import { compareFacts } from './image-config.js';
import { dockerRefusals, knownDifferences } from './known-differences.js';
import { buildWithDocker, buildWithTzbuild, type DockerSideResult, type SideResult } from './sides.js';

const corpus = loadCorpus();
let dockerd: PrivateDockerd | undefined;
let server: StaticServer | undefined;
let scratch: string;
const dockerResults = new Map<string, DockerSideResult | Error>();
const tzbuildResults = new Map<string, SideResult | Error>();
/**
 * Every case's differences (or build error), written to $PARITY_REPORT when set: the raw material of docs/parity.md.
 */
const report: Record<string, { refusal?: string; differences?: string[]; error?: string }> = {};

/** Builds the cases one after another (later cases may build FROM earlier ones), keeping errors per case. */
async function buildAll<T>(build: (testCase: ParityCase) => Promise<T>, into: Map<string, T | Error>): Promise<void> {
  for (const testCase of corpus) {
    into.set(
      testCase.name,
      await build(testCase).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    );
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'tzb-parity-'));
  const [started, store, http] = await Promise.all([startDockerd(), loadedStore(), serveDirectory(corpusDir)]);
  dockerd = started;
  server = http;
  // The same busybox archive, under the same name, on both sides.
  const archive = await makeBusyboxDockerArchive(path.join(scratch, 'busybox.tar'), BASE);
  const loaded = await started.docker(['load', '-i', archive]);
  if (loaded.exitCode !== 0) throw new Error(`docker load: ${loaded.stderr}`);
  // The two sides run side by side; each builds the corpus in order.
  await Promise.all([
    buildAll((testCase) => buildWithDocker(started, testCase, scratch, http.url), dockerResults),
    buildAll((testCase) => buildWithTzbuild(store, started, testCase, scratch, http.url), tzbuildResults),
  ]);
}, 900_000);

afterAll(async () => {
  if (process.env.PARITY_REPORT) await writeFile(process.env.PARITY_REPORT, `${JSON.stringify(report, null, 2)}\n`);
  await dockerd?.stop();
  await server?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
}, 120_000);

describe('docker parity corpus', () => {
  it('has at least 40 cases, and every listed known difference names a case', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    const names = corpus.map((testCase) => testCase.name);
    for (const name of [...Object.keys(knownDifferences), ...Object.keys(dockerRefusals)])
      expect(names).toContain(name);
  });

  it.each(corpus.map((testCase) => [testCase.name, testCase] as const))('%s', (name, testCase) => {
    const docker = dockerResults.get(name);
    const tzbuild = tzbuildResults.get(name);
    const failed = [docker, tzbuild].find((side) => side instanceof Error);
    if (failed !== undefined) report[name] = { error: failed.message };
    if (docker instanceof Error) throw docker;
    if (tzbuild instanceof Error) throw tzbuild;
    if (docker === undefined || tzbuild === undefined) throw new Error(`${name} was not built`);
    // The test server's port changes per run: difference lines name it as {{server}}.
    const differences = [
      ...compareFacts(docker.facts, tzbuild.facts, { createdBy: testCase.dockerFile === undefined }),
      ...compareFilesystems(docker.filesystem, tzbuild.filesystem),
    ].map((line) => (server === undefined ? line : line.replaceAll(server.url, '{{server}}')));
    report[name] = { ...(docker.refusal === undefined ? {} : { refusal: docker.refusal }), differences };
    // A rewritten Dockerfile on docker's side exists only because docker 20.10 refuses the original.
    expect(docker.refusal, 'docker refusal of the case Dockerfile').toBe(dockerRefusals[name]?.refusal);
    expect(differences).toEqual(knownDifferences[name]?.differences ?? []);
    // Sanity: the comparison saw a real image on both sides.
    expect(tzbuild.filesystem.size).toBeGreaterThan(0);
    expect(tzbuild.facts.layers).toBeGreaterThan(0);
  });
});
