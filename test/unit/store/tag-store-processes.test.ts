/**
 * Two (here three) real processes updating one index.json: the lock file must keep every update.
 * The tag store and its imports are transpiled with the project's TypeScript so plain `node`
 * children can load them.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { IndexTagStore } from '../../../store/tag-store.js';
import { tempDir } from '../../helpers/layers.js';
import { repoRoot } from '../../helpers/paths.js';

const modules = [
  'core/errors.ts',
  'sys/processes.ts',
  'core/oci.ts',
  'store/layout.ts',
  'sys/helper-files.ts',
  'sys/lock-protocol.ts',
  'sys/lock-server.ts',
  'sys/file-lock.ts',
  'store/tag-store.ts',
];

async function transpiled(): Promise<string> {
  const out = await tempDir('tzb-transpiled-');
  // A package root of tzbuild's, so helper-files.ts finds the lock server's helper there.
  await writeFile(path.join(out, 'package.json'), JSON.stringify({ name: 'tzbuild', type: 'module' }));
  await symlink(path.join(repoRoot, 'helpers'), path.join(out, 'helpers'));
  for (const file of modules) {
    const source = await readFile(path.join(repoRoot, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    await mkdir(path.dirname(path.join(out, file)), { recursive: true });
    await writeFile(path.join(out, file.replace(/\.ts$/, '.js')), outputText);
  }
  await writeFile(
    path.join(out, 'worker.js'),
    `import { IndexTagStore } from './store/tag-store.js';
const [root, id, count] = process.argv.slice(2);
const tags = new IndexTagStore(root);
for (let i = 0; i < Number(count); i++) {
  const digest = 'sha256:' + (Number(id) * 1000 + i).toString(16).padStart(64, '0');
  const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: i };
  await tags.set('p' + id + '-' + i + ':v', manifest);
}
`,
  );
  return out;
}

describe('IndexTagStore across processes', () => {
  it('keeps every update when three processes write at once', async () => {
    const code = await transpiled();
    const root = await tempDir();
    await IndexTagStore.open(root);
    await Promise.all(['1', '2', '3'].map((id) => execa('node', [path.join(code, 'worker.js'), root, id, '25'])));
    const names = (await new IndexTagStore(root).list()).map((tag) => tag.name);
    expect(names).toHaveLength(75);
    expect(new Set(names).size).toBe(75);
    for (const id of ['1', '2', '3']) expect(names).toContain(`p${id}-24:v`);
  });
});
