/**
 * "Nothing half-written": what a failed command must leave as it found it. A store's state is
 * its tags (index.json), its blobs, its snapshots and their markers, and nothing left in flight
 * (ingest/, tmp/); `tzbuild system fsck` must find it clean.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { runTzbuild } from './cli.js';

/** The parts of a store a failed command must not change, as comparable lists. */
export interface StoreState {
  index: string;
  blobs: string[];
  snapshots: string[];
  markers: string[];
  /** Entries under ingest/ and tmp/ (each live process's tmp dir is removed when it exits). */
  inFlight: string[];
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** Reads the state of the store at `root`. */
export async function storeState(root: string): Promise<StoreState> {
  const [ingest, tmp] = await Promise.all([names(path.join(root, 'ingest')), names(path.join(root, 'tmp'))]);
  return {
    index: await readFile(path.join(root, 'index.json'), 'utf8').catch(() => ''),
    blobs: await names(path.join(root, 'blobs', 'sha256')),
    snapshots: await names(path.join(root, 'snapshots')),
    markers: await names(path.join(root, 'meta', 'snapshots')),
    // tmp/logs keeps the step logs of failed builds on purpose.
    inFlight: [...ingest.map((name) => `ingest/${name}`), ...tmp.filter((name) => name !== 'logs')],
  };
}

/** Expects `tzbuild system fsck` to report a clean store. */
export async function expectFsckClean(root: string): Promise<void> {
  const fsck = await runTzbuild(['system', 'fsck', '--root', root]);
  expect(fsck.stdout + fsck.stderr).toContain('fsck: 0 problems found');
  expect(fsck.exitCode).toBe(0);
}

/**
 * Runs `command` (a CLI run expected to fail) and expects the store as it was before, fsck-clean;
 * returns what the command returned.
 */
export async function expectStoreUnchanged<T>(root: string, command: () => Promise<T>): Promise<T> {
  const before = await storeState(root);
  const result = await command();
  expect(await storeState(root)).toEqual(before);
  await expectFsckClean(root);
  return result;
}
