import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNodeScript, tempStore, tzbuildBin } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';

const echoCli = path.join(repoRoot, 'test/helpers/fixtures/echo-cli.mjs');

describe('cli helper', () => {
  it('passes args, cwd, env and stdin, and returns output and exit code', async () => {
    const store = await tempStore();
    const result = await runNodeScript(echoCli, ['build', '-t', 'app:1', '.'], {
      cwd: os.tmpdir(),
      env: { TZBUILD_ROOT: store },
      input: 'FROM scratch\n',
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('to stderr\n');
    expect(JSON.parse(result.stdout)).toEqual({
      args: ['build', '-t', 'app:1', '.'],
      cwd: os.tmpdir(),
      env: store,
      input: 'FROM scratch\n',
    });
  });

  it('reports a failing command without throwing', async () => {
    const result = await runNodeScript(echoCli, [], { env: { EXIT_CODE: '3' } });
    expect(result.exitCode).toBe(3);
  });

  it('hands out distinct empty store dirs', async () => {
    const [a, b] = await Promise.all([tempStore(), tempStore()]);
    expect(a).not.toBe(b);
    expect(existsSync(a) && existsSync(b)).toBe(true);
    expect(await readdir(a)).toEqual([]);
  });

  it('points at the repository CLI entry', () => {
    expect(tzbuildBin).toBe(path.join(repoRoot, 'bin/tzbuild'));
    expect(existsSync(tzbuildBin)).toBe(true);
  });
});
