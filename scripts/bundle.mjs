// Bundles the compiled CLI (dist/cli/start.js and everything it imports, npm packages included)
// into dist/tzbuild/: start.js plus one chunk per dynamic import, so what a command does not need
// is still never loaded. dist/tzbuild/modules.json maps each chunk to the modules inside it (the
// start-up test reads it). Run after tsc: `npm run build`.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(repo, 'dist/tzbuild');

const bundle = await rolldown({
  input: { start: path.join(repo, 'dist/cli/start.js') },
  platform: 'node',
  // A native addon, and ink's optional devtools (loaded only with DEV=true, not installed).
  external: [/^node:/, '@napi-rs/xattr', 'react-devtools-core'],
  logLevel: 'warn',
});
// Chunk names carry content hashes: clear the old ones so modules.json and the dir agree.
await rm(outDir, { recursive: true, force: true });
const { output } = await bundle.write({ dir: outDir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' });
await bundle.close();

const modules = Object.fromEntries(output.filter((item) => item.type === 'chunk').map((chunk) => [
  chunk.fileName,
  chunk.moduleIds.map((id) => path.relative(repo, id.replace(/^\0/, ''))),
]));
await writeFile(path.join(outDir, 'modules.json'), `${JSON.stringify(modules, null, 1)}\n`);
