/** A small real build context on disk, rebuilt for each test. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ContextFixture {
  /** Parent temp dir (holds `outside.txt` next to the context). */
  base: string;
  /** The context dir itself. */
  dir: string;
  cleanup(): Promise<void>;
}

/** Files of the fixture context; `->` entries are symlinks. */
export async function makeContext(): Promise<ContextFixture> {
  const base = await mkdtemp(path.join(tmpdir(), 'tzb-ctx-'));
  const dir = path.join(base, 'ctx');
  const file = async (rel: string, text: string): Promise<void> => {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  };
  await writeFile(path.join(base, 'outside.txt'), 'outside\n');
  await file('a.txt', 'A\n');
  await file('b.txt', 'B\n');
  await file('c.md', 'C\n');
  await file('dir/x.txt', 'X\n');
  await file('dir/sub/y.txt', 'Y\n');
  await file('dir/inner-link-target.txt', 'T\n');
  await symlink('inner-link-target.txt', path.join(dir, 'dir/inner-link'));
  await file('secret.key', 'no\n');
  await file('logs/keep.log', 'keep\n');
  await file('logs/drop.log', 'drop\n');
  await symlink('a.txt', path.join(dir, 'link-to-a'));
  await symlink('dir', path.join(dir, 'link-dir'));
  await symlink('../outside.txt', path.join(dir, 'escape-link'));
  await symlink('/etc/passwd', path.join(dir, 'abs-escape'));
  await symlink(path.join(dir, 'b.txt'), path.join(dir, 'abs-inside'));
  await symlink('..', path.join(dir, 'up'));
  await file('.dockerignore', '*.key\nlogs\n!logs/keep.log\n');
  return { base, dir, cleanup: () => rm(base, { recursive: true, force: true }) };
}
