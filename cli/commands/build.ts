/** `tzbuild [build] …`: options → BuildOptions, a progress sink, the build, the image ID. */
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import { UserError, StepError } from '../../errors.js';
import { build, type BuildResult } from '../../builder/build.js';
import type { BuildOptions } from '../../builder/session.js';
import type { ProgressSink } from '../../ports.js';
import { createProgressSink } from '../progress/choose.js';
import { progressMode } from '../progress/mode.js';
import { openStore, storeRoot } from '../compose.js';
import { sourceSnippet } from '../source-snippet.js';
import { parseOutput, writeOutput } from '../output.js';

export interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  /** `--no-cache-filter` values (commander names a `--no-` option after what follows it). */
  cacheFilter: string[];
  progress: 'auto' | 'plain' | 'json' | 'tty';
  quiet?: boolean;
  iidfile?: string;
  /** `--metadata-file`: JSON with the image ID, tags and each step's cache result. */
  metadataFile?: string;
  dryRun?: boolean;
  /** `--output` spec (cli/output.ts). */
  output?: string;
  label: string[];
  root?: string;
}

export async function buildCommand(contextArg: string, flags: BuildFlags): Promise<void> {
  const contextDir = resolve(contextArg);
  const output = flags.output === undefined ? undefined : parseOutput(flags.output);
  const dockerfile = await readDockerfile(contextDir, flags.file);
  const sink = chooseSink(flags);
  const store = await openStore(storeRoot(flags.root), sink);
  const options: BuildOptions = {
    contextDir,
    dockerfile,
    tags: flags.tag,
    buildArgs: keyValues(flags.buildArg, '--build-arg', true),
    ...(flags.target === undefined ? {} : { target: flags.target }),
    noCache: !flags.cache,
    noCacheFilter: flags.cacheFilter,
    labels: Object.fromEntries(keyValues(flags.label, '--label', false)),
    ...sourceDateEpoch(),
    ...(flags.dryRun ? { dryRun: true } : {}),
    statCachePath: store.statCachePath(contextDir),
  };
  let result: BuildResult;
  try {
    result = await build(options, store.deps);
    if (output !== undefined && result.imageId !== undefined) await writeOutput(store.images, result.imageId, flags.tag, output);
  } catch (error) {
    if (error instanceof UserError) {
      // Plain progress already showed the output; -q did not, so the tail goes with the error.
      const tail = error instanceof StepError && flags.quiet ? error.outputTail.map((line) => `  ${line}\n`).join('') : '';
      error.details = `${sourceSnippet(dockerfile, error.location)}${tail}`;
    }
    throw error;
  } finally {
    await store.close();
  }
  // After the sink closed, so a TUI's last redraw cannot cover these lines.
  if (result.imageId === undefined) {
    // JSON progress already carries every hit and miss; stdout stays pure JSON lines.
    if (flags.progress !== 'json') process.stdout.write(`dry run: ${result.cached} step${result.cached === 1 ? '' : 's'} would be cached, ${result.ran} would run\n`);
    return;
  }
  if (flags.quiet) process.stdout.write(`${result.imageId}\n`);
  if (flags.iidfile !== undefined) await writeFile(flags.iidfile, result.imageId);
}

/** `-f` anywhere (relative to the working dir, as docker does), `-f -` from stdin, else CONTEXT/Dockerfile. */
async function readDockerfile(contextDir: string, file: string | undefined): Promise<{ text: string; name: string }> {
  if (file === '-') return { text: await text(process.stdin), name: 'Dockerfile' };
  const path = file === undefined ? join(contextDir, 'Dockerfile') : resolve(file);
  try {
    return { text: await readFile(path, 'utf8'), name: displayName(path) };
  } catch (error) {
    throw new UserError(`cannot read Dockerfile ${path}: ${(error as Error).message}`, 'NO_DOCKERFILE');
  }
}

function displayName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/** The display `--progress`/`-q` and the terminal call for, plus step logs and `--metadata-file`. */
function chooseSink(flags: BuildFlags): ProgressSink {
  return createProgressSink({
    mode: progressMode(flags.progress, flags.quiet === true, { isTTY: process.stderr.isTTY === true, env: process.env }),
    storeRoot: storeRoot(flags.root),
    ...(flags.metadataFile === undefined ? {} : { metadataFile: flags.metadataFile }),
    stderr: process.stderr,
    stdout: process.stdout,
  });
}

/** `K=V` list → map. A bare `K` takes the value of the environment variable K (docker's rule). */
function keyValues(items: string[], flag: string, fromEnv: boolean): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new UserError(`${flag} ${item}: missing name`, 'USAGE');
    if (eq < 0) {
      const value = fromEnv ? process.env[item] : '';
      if (value !== undefined) map.set(item, value);
    } else {
      map.set(item.slice(0, eq), item.slice(eq + 1));
    }
  }
  return map;
}

function sourceDateEpoch(): { sourceDateEpoch?: number } {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return {};
  if (!/^\d+$/.test(raw)) throw new UserError(`SOURCE_DATE_EPOCH must be a number of seconds, got "${raw}"`, 'USAGE');
  return { sourceDateEpoch: Number(raw) };
}
