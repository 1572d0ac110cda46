// Bundles the compiled CLI (dist/cli/start.js and everything it imports, npm packages included)
// into dist/tzbuild/, the code bin/tzbuild loads. Run after tsc: `npm run build`.
//
// - CommonJS chunks (start.cjs plus one chunk per dynamic import, so what a command does not need
//   is never loaded). CommonJS because bin/tzbuild compiles them with vm.Script and a V8 code
//   cache (Node 20 has no code cache for ES modules): most of a cached rebuild's own time was
//   parsing and compiling this code.
// - The Ink TUI as ES modules (tui/ink-sink.js, and a chunk for ink's devtools): ink's dependencies use top-level
// await, which
//   CommonJS cannot hold. The CLI chunks import it through `__tzbuildImportTui`, a function
//   bin/tzbuild hands every chunk (code compiled by vm.Script cannot use import() itself).
// - modules.json maps each file to the modules inside it (the start-up import test reads it).
// - Code caches (v8/*.cache): made by warm-up builds (below) that cover a cold build, a rebuild
//   after a change and a fully cached one; bin/tzbuild writes the ones still missing on first use.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(repo, 'dist/tzbuild');
const tuiSource = path.join(repo, 'dist/cli/progress/tui/ink-sink.js');
const TUI_IMPORT = "import('./tui/ink-sink.js')";

/** Writes one rolldown build; returns its chunks as file name → modules (repo-relative). */
async function bundle(input, external, plugins, output) {
  const build = await rolldown({ input, platform: 'node', external, plugins, logLevel: 'warn' });
  const { output: items } = await build.write(output);
  await build.close();
  const chunks = items.filter((item) => item.type === 'chunk');
  return Object.fromEntries(
    chunks.map((chunk) => [
      path.relative(outDir, path.join(output.dir, chunk.fileName)),
      chunk.moduleIds.map((id) => path.relative(repo, id.replace(/^\0/, ''))),
    ]),
  );
}

// The one dynamic import of the TUI, handed to bin/tzbuild's importer (see above).
const tuiImport = {
  name: 'tzbuild-tui-import',
  transform(code, id) {
    if (!id.endsWith('/dist/cli/progress/tty-sink.js')) return undefined;
    const parts = code.split(TUI_IMPORT);
    if (parts.length !== 2) throw new Error(`${id}: expected exactly one ${TUI_IMPORT}`);
    return parts.join('__tzbuildImportTui()');
  },
};

// commander requires node:child_process at import, for git-style subcommand executables we do
// not use; loading it costs every run (sys/processes.ts loads it on first use for our spawns).
const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');";
const lazyCommanderChildProcess = {
  name: 'tzbuild-lazy-child-process',
  transform(code, id) {
    if (!id.endsWith('/node_modules/commander/lib/command.js')) return undefined;
    if (!code.includes(COMMANDER_CHILD_PROCESS)) throw new Error(`${id}: expected ${COMMANDER_CHILD_PROCESS}`);
    return code.replace(
      COMMANDER_CHILD_PROCESS,
      "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };",
    );
  },
};

// Chunk names carry content hashes (a code cache is found by its chunk's name): clear the old ones.
rmSync(outDir, { recursive: true, force: true });
const modules = {
  ...(await bundle(
    { start: path.join(repo, 'dist/cli/start.js') },
    [/^node:/, '@napi-rs/xattr'],
    [tuiImport, lazyCommanderChildProcess],
    {
      dir: outDir,
      format: 'cjs',
      // import() of a builtin (node:zlib) becomes a deferred require(): vm.Script code has no import().
      dynamicImportInCjs: false,
      entryFileNames: '[name].cjs',
      chunkFileNames: '[name]-[hash].cjs',
    },
  )),
  // ink's optional devtools (loaded only with DEV=true) is not installed.
  ...(await bundle({ 'ink-sink': tuiSource }, [/^node:/, 'react-devtools-core'], [], {
    dir: path.join(outDir, 'tui'),
    format: 'esm',
    chunkFileNames: '[name]-[hash].js',
  })),
};
writeFileSync(path.join(outDir, 'modules.json'), `${JSON.stringify(modules, null, 1)}\n`);
// Outside comments (commander's JSDoc has `import("./command.js")` types).
const IMPORT_CALL = /^(?!\s*(?:\*|\/\/)).*\bimport\(/m;
const leftover = Object.keys(modules).filter(
  (file) => file.endsWith('.cjs') && IMPORT_CALL.test(readFileSync(path.join(outDir, file), 'utf8')),
);
if (leftover.length > 0) throw new Error(`import() left in CommonJS chunks: ${leftover.join(', ')}`);

warmCodeCache();

/**
 * Builds a generated context three times into a throwaway store (cold, after a file changed, fully
 * cached), each run adding what it compiled to the chunks' code caches (bin/tzbuild's refresh), so
 * they hold the code of every kind of build rather than of one. As root with a static busybox on
 * the host, the context has a RUN step too (FROM scratch with busybox copied in: no base image
 * needed). A failure only costs speed: bin/tzbuild makes missing caches on first use anyway.
 */
function warmCodeCache() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tzbuild-warm-'));
  const context = path.join(work, 'context');
  const build = () =>
    execFileSync(
      process.execPath,
      [
        path.join(repo, 'bin/tzbuild'),
        'build',
        '--root',
        path.join(work, 'store'),
        '--progress',
        'plain',
        '-t',
        'warm:1',
        context,
      ],
      {
        stdio: 'ignore',
        env: { ...process.env, TZBUILD_REFRESH_CODE_CACHE: '1' },
        // A build here takes about a second; one that hangs must not hang the install with it.
        timeout: 120_000,
      },
    );
  const warmUp = (withRun) => {
    rmSync(path.join(outDir, 'v8'), { recursive: true, force: true });
    writeWarmContext(context, withRun);
    build();
    writeFileSync(path.join(context, 'a.txt'), 'changed\n');
    build();
    build();
  };
  try {
    try {
      warmUp(busybox() !== undefined);
    } catch (error) {
      // The RUN could not run here (no runtime, a dynamic busybox): warm up without it.
      if (busybox() === undefined) throw error;
      warmUp(false);
    }
  } catch (error) {
    console.warn(`bundle: no code cache made (${error.message.split('\n')[0]}); bin/tzbuild makes it on first use`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A static busybox to RUN in the warm-up (Debian's busybox-static), when we may run containers. */
function busybox() {
  if (process.getuid?.() !== 0) return undefined;
  return ['/usr/bin/busybox', '/bin/busybox'].find((file) => existsSync(file));
}

/** Two stages with the same steps (the second hits what the first recorded), joined by COPY --from. */
function writeWarmContext(dir, withRun) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  writeFileSync(path.join(dir, 'b.txt'), 'b\n');
  writeFileSync(path.join(dir, '.dockerignore'), 'ignored*\n');
  const stage = (name) => [
    `FROM scratch AS ${name}`,
    'COPY a.txt b.txt /files/',
    'WORKDIR /files/sub',
    'ENV WARM=1',
    'LABEL warm=1',
  ];
  const run = withRun
    ? ['COPY busybox /bin/busybox', 'RUN ["/bin/busybox", "sh", "-c", "echo warm > /files.txt"]']
    : [];
  if (withRun) copyFileSync(busybox(), path.join(dir, 'busybox'));
  const final = [
    'FROM scratch',
    ...run,
    'COPY --from=one /files /one',
    'COPY --from=two /files /two',
    'CMD ["/bin/busybox", "true"]',
  ];
  writeFileSync(path.join(dir, 'Dockerfile'), `${[...stage('one'), '', ...stage('two'), '', ...final].join('\n')}\n`);
}
