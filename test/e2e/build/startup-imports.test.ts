/**
 * Start-up cost is mostly module loading (docs/benchmarks.md): a fully cached build must not
 * load what only a running step, an export or another command needs. The CLI runs with hooks
 * that list every file it loads: the CommonJS chunks bin/tzbuild reads, the packages Node's
 * require loaded, and ES modules (the TUI) through a module hook. The bundle's files are mapped
 * back to the modules inside them (dist/tzbuild/modules.json, written by scripts/bundle.mjs). No
 * timing is measured.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTzbuild } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { buildOk, loadedStore, tempDir, writeContext } from '../../helpers/build-fixture.js';

let hookOptions: string;
let listFile: string;

beforeAll(async () => {
  const dir = await tempDir('hook');
  listFile = path.join(dir, 'loaded.txt');
  const hooks = path.join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function load(url, context, next) {',
      '  appendFileSync(process.env.TZB_TEST_MODULE_LIST, `${url}\\n`);',
      '  return next(url, context);',
      '}',
    ].join('\n'),
  );
  const register = path.join(dir, 'register.mjs');
  await writeFile(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  // bin/tzbuild reads each chunk with fs.readFileSync; packages loaded by require stay in require.cache.
  const preload = path.join(dir, 'preload.cjs');
  await writeFile(
    preload,
    [
      "const fs = require('node:fs');",
      "const { pathToFileURL } = require('node:url');",
      'const list = process.env.TZB_TEST_MODULE_LIST;',
      'const readFileSync = fs.readFileSync;',
      'fs.readFileSync = function (file, ...rest) {',
      "  if (typeof file === 'string' && file.endsWith('.cjs')) fs.appendFileSync(list, " +
        '`${pathToFileURL(file).href}\\n`);',
      '  return readFileSync.call(this, file, ...rest);',
      '};',
      "process.once('exit', () => fs.appendFileSync(list, Object.keys(require.cache).map((file) => " +
        "`${pathToFileURL(file).href}\\n`).join('')));",
      // Node's own modules, as node:NAME.
      "process.once('exit', () => fs.appendFileSync(list, process.moduleLoadList.filter((name) => " +
        "name.startsWith('NativeModule ')).map((name) => `node:${name.slice(13)}\\n`).join('')));",
    ].join('\n'),
  );
  hookOptions = `--require=${preload} --import=${pathToFileURL(register).href}`;
});

/**
 * The modules a CLI run loaded, as `/`-prefixed paths from the repo root (`/dist/builder/build.js`,
 * `/node_modules/execa/index.js`): each loaded chunk of the bundle stands for the modules in it.
 */
async function loadedBy(run: (env: Record<string, string>) => Promise<unknown>): Promise<string[]> {
  await writeFile(listFile, '');
  await run({ NODE_OPTIONS: hookOptions, TZB_TEST_MODULE_LIST: listFile });
  const bundleDir = pathToFileURL(path.join(repoRoot, 'dist/tzbuild')).href;
  const chunks = JSON.parse(await readFile(path.join(repoRoot, 'dist/tzbuild/modules.json'), 'utf8')) as Record<
    string,
    string[]
  >;
  const urls = (await readFile(listFile, 'utf8')).split('\n').filter((line) => line !== '');
  expect(
    urls.some((url) => url.startsWith(`${bundleDir}/`)),
    'the CLI ran from the bundle',
  ).toBe(true);
  return urls.flatMap((url) => {
    if (!url.startsWith(`${bundleDir}/`)) return [url];
    const modules = chunks[url.slice(bundleDir.length + 1)];
    if (modules === undefined) throw new Error(`${url} is not in dist/tzbuild/modules.json`);
    return modules.map((id) => `/${id}`);
  });
}

const packageOf = (url: string): string | undefined => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

describe('modules loaded at start-up', () => {
  it('a fully cached build loads no process spawner, tar library, TUI or layer writer', async () => {
    const store = await loadedStore();
    const context = await writeContext({
      Dockerfile: 'FROM busybox:latest\nWORKDIR /app\nCOPY a.txt /app/\nRUN echo built > /app/b.txt\nENV X=1\n',
      'a.txt': 'A\n',
    });
    await buildOk(store, ['-t', 'startup:1', context]);
    let output = '';
    const loaded = await loadedBy(async (env) => {
      const result = await runTzbuild(['build', '--root', store, '--progress', 'plain', '-t', 'startup:1', context], {
        env,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      output = result.stderr + result.stdout;
    });
    expect(output).toMatch(/4 cached, 0 run/);
    // The hook saw the build: its own modules are listed, the build checks' among them.
    expect(loaded.some((url) => url.endsWith('/dist/builder/build.js'))).toBe(true);
    expect(loaded.some((url) => url.endsWith('/dist/checks/build-checks.js'))).toBe(true);
    const packages = new Set(loaded.map(packageOf).filter((name) => name !== undefined));
    for (const heavy of ['execa', 'tar-stream', 'tar-fs', 'ink', 'react'])
      expect(packages.has(heavy), heavy).toBe(false);
    // Loaded on the first spawn (processes.ts; commander's import is deferred by the bundle).
    expect(loaded).toContain('node:fs');
    expect(loaded).not.toContain('node:child_process');
    for (const lazy of [
      'layers/layer-writer.js',
      'archive/archive.js',
      'store/fsck.js',
      'cli/commands/registry.js',
      'runners/oci/oci-runtime.js',
      'runners/namespaces.js',
      'registry/client.js',
      'layers/layer-apply.js',
      'archive/export-fs.js',
      'store/gc.js',
      // The build's checks run BuildKit's rules only: advice, reports, fixes and the check command stay out.
      'checks/cache-rules.js',
      'checks/advice/history-index.js',
      'checks/report/sarif.js',
      'checks/report/json.js',
      'checks/fix.js',
      'checks/diff.js',
      'cli/commands/check.js',
      'cli/check-text.js',
    ]) {
      expect(
        loaded.some((url) => url.endsWith(`/dist/${lazy}`)),
        lazy,
      ).toBe(false);
    }
  });

  it('check --format json (run on every save) spawns nothing, loads no build, store or network code', async () => {
    const store = await loadedStore();
    const context = await writeContext({ Dockerfile: 'FROM busybox:latest\nCOPY . .\nRUN npm ci\n', 'a.txt': 'A\n' });
    const loaded = await loadedBy(async (env) => {
      const result = await runTzbuild(['check', '--root', store, '--format', 'json', context], { env });
      expect(result.exitCode, result.stderr).toBe(0);
      const rules = JSON.parse(result.stdout).findings.map((finding: { rule: string }) => finding.rule);
      expect(rules).toEqual(['DependencyInstallAfterContextCopy']);
    });
    expect(loaded.some((url) => url.endsWith('/dist/checks/cache-rules.js'))).toBe(true);
    // No lock helper, no runner, no pull: no process at all.
    expect(loaded).not.toContain('node:child_process');
    for (const unused of [
      'cli/compose.js',
      'store/store.js',
      'store/recover.js',
      'store/snapshotter.js',
      'registry/client.js',
      'registry/image-source.js',
      'builder/solver.js',
      'builder/steps/run.js',
      'layers/layer-writer.js',
      'checks/report/sarif.js',
      'checks/fix.js',
      'cli/progress/choose.js',
    ])
      expect(
        loaded.some((url) => url.endsWith(`/dist/${unused}`)),
        unused,
      ).toBe(false);
  });

  it('--help loads no command module', async () => {
    const loaded = await loadedBy(async (env) => {
      const result = await runTzbuild(['--help'], { env });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('Usage: tzbuild');
    });
    expect(loaded.some((url) => url.endsWith('/dist/cli/main.js'))).toBe(true);
    const commandModules = loaded.filter((url) =>
      /\/dist\/(cli\/commands\/(build|check|images|load|save|parse|registry|store)\.js|builder\/|checks\/)/.test(url),
    );
    expect(commandModules).toEqual([]);
  });
});
