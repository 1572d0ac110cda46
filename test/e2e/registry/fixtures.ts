/**
 * Test images built with the real CLI (`bin/tzbuild build`, FROM scratch + COPY, so no runner is
 * needed), stores opened through the image API, and what "the same image" means in assertions.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import type { OpenedStore } from '../../../store/store.js';
import { openStore } from '../../../cli/compose.js';
import type { ResolvedImage } from '../../../core/ports.js';
import { runTzbuild } from '../../helpers/cli.js';

const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A temp dir removed after the test file. */
export async function tempDir(prefix = 'tzb-reg-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A fresh empty store. */
export async function emptyStore(): Promise<OpenedStore> {
  return openStore(await tempDir('tzb-reg-store-'));
}

/** Incompressible, reproducible bytes (so gzip cannot shrink the layer below `size`). */
export function noise(size: number, seed: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0, total = 0; total < size; i++, total += 32)
    blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

/**
 * Builds a two-layer image (a small text file, then `bigBytes` of noise) tagged `tag` in the store
 * at `root`; `variant` changes the text so two variants share only the big layer.
 */
export async function buildTestImage(
  root: string,
  tag: string,
  variant = 'one',
  bigBytes = 3 * 1024 * 1024,
): Promise<void> {
  const context = await tempDir('tzb-reg-ctx-');
  await writeFile(path.join(context, 'a.txt'), `variant ${variant}\n`);
  await writeFile(path.join(context, 'big.bin'), noise(bigBytes, 'big'));
  await writeFile(
    path.join(context, 'Dockerfile'),
    'FROM scratch\nCOPY a.txt /a.txt\nCOPY big.bin /data/big.bin\nCMD ["/a.txt"]\n',
  );
  const result = await runTzbuild(['build', '-q', '-t', tag, context], {
    env: { TZBUILD_ROOT: root, SOURCE_DATE_EPOCH: '1700000000' },
  });
  if (result.exitCode !== 0) throw new Error(`tzbuild build failed: ${result.stderr}`);
}

/** Asserts two stores hold the same image: same ID (config digest) and byte-identical layers. */
export async function expectSameImage(
  a: { store: OpenedStore; image: ResolvedImage },
  b: { store: OpenedStore; image: ResolvedImage },
): Promise<void> {
  expect(b.image.configDigest).toBe(a.image.configDigest);
  expect(b.image.layers.map((l) => l.diffId)).toEqual(a.image.layers.map((l) => l.diffId));
  for (const layer of a.image.layers) {
    const left = await readFile(a.store.content.blobPath(layer.diffId));
    const right = await readFile(b.store.content.blobPath(layer.diffId));
    expect(right.equals(left)).toBe(true);
  }
}
