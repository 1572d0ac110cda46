/**
 * The helper programs in helpers/: each one the code names is there, Perl compiles every .pl and
 * sh parses every .sh (`npm run lint:helpers` runs shellcheck too), and the one syscall table has
 * every number the Perl helpers ask it for.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { HELPER_FILES, helperDir, helperFile } from '../../../sys/helper-files.js';
import { fixturesDir, repoRoot } from '../../helpers/paths.js';

const perlHelpers = HELPER_FILES.filter((name) => name.endsWith('.pl'));
const shellHelpers = HELPER_FILES.filter((name) => name.endsWith('.sh'));

describe('helperFile', () => {
  it('resolves every helper to its file in the package', async () => {
    expect(helperDir()).toBe(path.join(repoRoot, 'helpers'));
    for (const name of HELPER_FILES) {
      const file = helperFile(name);
      expect(file).toBe(path.join(repoRoot, 'helpers', name));
      expect(existsSync(file), name).toBe(true);
    }
    // No helper the code does not know about (a rename would leave the old one behind).
    expect((await readdir(helperDir())).sort()).toEqual([...HELPER_FILES].sort());
  });

  it.each(perlHelpers)('perl -c accepts %s', async (name) => {
    const result = await execa('perl', ['-c', helperFile(name)], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('syntax OK');
  });

  it.each(shellHelpers)('sh -n accepts %s', async (name) => {
    const result = await execa('/bin/sh', ['-n', helperFile(name)], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
  });
});

describe('helpers/syscalls.pl', () => {
  it('numbers every syscall the Perl helpers make, on each machine', async () => {
    const { stdout } = await execa('perl', [path.join(fixturesDir, 'dump-syscalls.pl'), helperFile('syscalls.pl')]);
    const table = new Map<string, Map<string, number>>();
    for (const [machine = '', name = '', nr] of stdout.split('\n').map((line) => line.split(' '))) {
      if (!table.has(machine)) table.set(machine, new Map());
      table.get(machine)!.set(name, Number(nr));
    }
    expect([...table.keys()]).toEqual(['aarch64', 'riscv64', 'x86_64']);
    const used = new Set<string>();
    for (const name of perlHelpers) {
      const source = await readFile(helperFile(name), 'utf8');
      for (const match of source.matchAll(/\$sys->\{(\w+)\}|\{mknodat\}/g)) used.add(match[1] ?? 'mknodat');
    }
    expect(used.size).toBeGreaterThan(5);
    for (const [machine, numbers] of table) {
      for (const name of used) expect(Number.isInteger(numbers.get(name)), `${machine} ${name}`).toBe(true);
    }
    expect(table.get('x86_64')!.get('mknodat')).toBe(259);
    expect(table.get('aarch64')!.get('mknodat')).toBe(33);
  });
});
