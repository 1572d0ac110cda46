import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeDeepTree } from '../../helpers/deep-tree.js';
import { describe, expect, it } from 'vitest';
import { removeTree, removeTreeSync } from '../../../sys/remove-tree.js';

/** A new temp dir holding a tree deeper than PATH_MAX. */
async function deepTree(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzb-deep-'));
  await makeDeepTree(dir);
  return dir;
}

describe('removeTree', () => {
  it('removes a tree deeper than PATH_MAX, where fs.rm gives up', async () => {
    const dir = await deepTree();
    await expect(rm(dir, { recursive: true, force: true })).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await removeTree(dir);
    expect(existsSync(dir)).toBe(false);
    const again = await deepTree();
    removeTreeSync(again);
    expect(existsSync(again)).toBe(false);
  });

  it('is quiet about a tree that is not there', async () => {
    await removeTree(path.join(os.tmpdir(), 'tzb-never-made'));
    removeTreeSync(path.join(os.tmpdir(), 'tzb-never-made'));
  });
});
