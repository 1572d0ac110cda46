/** bin/tzbuild before the first build (a fresh clone without `npm ci`): one line, not a stack. */
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/layers.js';
import { repoRoot } from '../../helpers/paths.js';

describe('bin/tzbuild without a build', () => {
  it('says in one line what to run and exits 2', async () => {
    const clone = await tempDir('tzb-nobuild-');
    await mkdir(path.join(clone, 'bin'));
    await cp(path.join(repoRoot, 'bin/tzbuild'), path.join(clone, 'bin/tzbuild'));
    const result = await execa(process.execPath, [path.join(clone, 'bin/tzbuild'), 'build', '.'], {
      cwd: clone,
      reject: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `tzbuild: dist/tzbuild/start.cjs is missing: run \`npm ci\` (or \`npm run build\`) in ${clone} first`,
    ]);
  });
});
