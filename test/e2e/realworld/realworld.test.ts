/**
 * Real-world Dockerfiles, unmodified, `FROM debian:bookworm` and `FROM node:20` and all: a tools
 * image that installs packages with apt-get from Debian's mirror, and a multi-stage TypeScript
 * service that runs `npm ci` against the npm registry. The Docker Hub names resolve through a
 * local registry configured as the mirror, on both sides: tzbuild (store config.json,
 * `hub-fallback: false`) and a private dockerd (`--registry-mirror`). The bases are made from
 * Debian's packages and this machine's Node (test/helpers/real-bases.ts; they carry this machine's
 * TLS-intercepting CA, as a company's base images would). Each result is compared with what the
 * real dockerd builds from the same Dockerfile and base: the same files, types, modes, owners
 * and link targets, the same content except where a file records when it was written, and the
 * same config.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTzbuild, tempStore } from '../../helpers/cli.js';
import { pushRealBases } from '../../helpers/real-bases.js';
import type { ParityCase } from '../parity/corpus.js';
import { type PrivateDockerd, startDockerd } from '../../helpers/dockerd.js';
import type { FsEntry } from '../parity/filesystem.js';
import { compareFacts } from '../parity/image-config.js';
import { buildWithDocker, buildWithTzbuild } from '../parity/sides.js';
import { tempDir } from '../registry/fixtures.js';
import { useRegistry } from '../registry/registry-server.js';

const appsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'apps');
const registry = useRegistry();
let dockerd: PrivateDockerd;
let store: string;

/**
 * Files whose content records when (or in what order) they were written: apt's and dpkg's logs,
 * apt's binary package caches, ld.so's cache and the debconf databases' backups. Their presence,
 * type, mode and owner are still compared.
 */
const timeStamped = [
  /^var\/log\//,
  /^var\/cache\/apt\/.*\.bin$/,
  /^var\/cache\/ldconfig\/aux-cache$/,
  /^etc\/ld\.so\.cache$/,
  /^var\/cache\/debconf\/.*-old$/,
];

function withoutContent(entries: Map<string, FsEntry>): Map<string, FsEntry> {
  const kept = new Map<string, FsEntry>();
  for (const [name, entry] of entries) {
    kept.set(name, timeStamped.some((pattern) => pattern.test(name)) ? { ...entry, size: 0, sha256: '' } : entry);
  }
  return kept;
}

function caseOf(name: string): ParityCase {
  const dir = path.join(appsDir, name);
  return { name, dir, covers: name, buildArgs: [], secrets: [], tag: `realworld-${name}`, network: 'host' };
}

async function compareWithDocker(name: string): Promise<string[]> {
  const scratch = await tempDir('tzb-realworld-');
  const testCase = caseOf(name);
  const docker = await buildWithDocker(dockerd, testCase, scratch, '');
  const tzbuild = await buildWithTzbuild(store, dockerd, testCase, scratch, '');
  const fsDifferences: string[] = [];
  const left = withoutContent(docker.filesystem);
  const right = withoutContent(tzbuild.filesystem);
  for (const file of new Set([...left.keys(), ...right.keys()])) {
    const a = JSON.stringify(left.get(file));
    const b = JSON.stringify(right.get(file));
    if (a !== b) fsDifferences.push(`fs /${file}: docker=${a} tzbuild=${b}`);
  }
  return [...compareFacts(docker.facts, tzbuild.facts, { createdBy: false }), ...fsDifferences];
}

beforeAll(async () => {
  await pushRealBases(registry().host);
  dockerd = await startDockerd([
    '--registry-mirror',
    `http://${registry().host}`,
    '--insecure-registry',
    registry().host,
  ]);
  store = await tempStore();
  const config = { 'registry-mirrors': [`http://${registry().host}`], 'hub-fallback': false };
  await writeFile(path.join(store, 'config.json'), JSON.stringify(config));
}, 1_200_000);

afterAll(async () => {
  await dockerd?.stop();
});

describe('real-world Dockerfiles FROM Docker Hub names, through a mirror', () => {
  it('apt-get: the image dockerd builds (files, modes, owners, config)', async () => {
    expect(await compareWithDocker('apt-tools')).toEqual([]);
  }, 900_000);

  it('a multi-stage Node.js service with npm ci: the image dockerd builds', async () => {
    expect(await compareWithDocker('node-service')).toEqual([]);
  }, 900_000);

  it('a rebuild uses the store: every step cached, no network', async () => {
    const rebuilt = await runTzbuild([
      'build',
      '--root',
      store,
      '--progress',
      'plain',
      '--pull=never',
      path.join(appsDir, 'node-service'),
    ]);
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toMatch(/^\d+ cached, 0 run/m);
  }, 300_000);
});
