/** `tzbuild [build] …`: options → BuildOptions, a progress sink, the build, the image ID. */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError, StepError } from '../../core/errors.js';
import { build, type BuildResult } from '../../builder/build.js';
import type { BuildOptions, SecretSource } from '../../builder/session.js';
import type { ExportTarget, ProgressSink, PullPolicy } from '../../core/ports.js';
import { createProgressSink } from '../progress/choose.js';
import { progressMode } from '../progress/mode.js';
import { openBuildStore, storeRoot, type BuildStore } from '../compose.js';
import type { SharedCaches } from '../../cache/remote/shared-cache.js';
import { sourceSnippet } from '../source-snippet.js';
import { keyValues, readDockerfile } from '../build-inputs.js';
import { checksBeforeBuild, reportWarnings } from '../build-checks.js';
import { parseOutput } from '../output.js';
import { configuredKeep } from '../gc-config.js';
import { parsePlatformList, type PlatformSpec } from '../../builder/platform.js';
import { isRunnerKind, RUNNER_KINDS, type RunnerKind } from '../../runners/kinds.js';

export interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  /** `--platform`: one `os/arch[/variant]` or a comma list. */
  platform?: string;
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
  /** `--secret id=X,src=FILE|env=VAR` (repeatable): values for RUN --mount=type=secret. */
  secret?: string[];
  /** `--runner auto|runc|crun|namespaces`. */
  runner?: string;
  /** `--cache-from` / `--cache-to` specs (cache/remote/spec.ts). */
  cacheFrom?: string[];
  cacheTo?: string[];
  /** `--push`: push every `-t` name after the build. */
  push?: boolean;
  /** `--pull[=always|missing|never]` (bare: always). */
  pull?: string | boolean;
  /** `--insecure-registry` (repeatable): registries spoken to over plain http. */
  insecureRegistry?: string[];
  /** `--check`: run the checks (`tzbuild check`) instead of building. */
  check?: boolean;
  /** `--check-skip` values: build checks not to run. */
  checkSkip?: string[];
}

/** `--platform` values: `linux/arm64`, `linux/amd64,linux/arm64`. */
export function platformList(value: string): PlatformSpec[] {
  try {
    return parsePlatformList(value);
  } catch (error) {
    throw new UserError(`--platform: ${(error as Error).message}`, 'USAGE');
  }
}

/** `--pull` as docker takes it: bare or `true` means always; `false` the default, missing. */
export function pullPolicy(value: string | boolean | undefined): PullPolicy {
  if (value === undefined || value === false || value === 'false' || value === 'missing') return 'missing';
  if (value === true || value === 'true' || value === 'always') return 'always';
  if (value === 'never') return 'never';
  throw new UserError(`--pull: unknown policy "${value}" (use always, missing or never)`, 'USAGE');
}

export async function buildCommand(contextArg: string, flags: BuildFlags): Promise<void> {
  if (flags.check) return checkInstead(contextArg, flags);
  const contextDir = resolve(contextArg);
  const output = flags.output === undefined ? undefined : parseOutput(flags.output);
  const dockerfile = await readDockerfile(contextDir, flags.file);
  const buildArgs = keyValues(flags.buildArg, '--build-arg', true);
  const target = flags.target === undefined ? {} : { target: flags.target };
  const platforms = flags.platform === undefined ? undefined : platformList(flags.platform);
  if (output?.type === 'tar' && (platforms?.length ?? 0) > 1)
    throw new UserError(
      '--output type=tar holds one filesystem: with several platforms use type=local or type=oci',
      'USAGE',
    );
  const warnings = await checksBeforeBuild(
    { dockerfile, contextDir, buildArgs, ...target, ...(platforms?.[0] ? { platform: platforms[0] } : {}) },
    storeRoot(flags.root),
    flags.checkSkip ?? [],
  );
  const sink = chooseSink(flags);
  const secrets = parseSecrets(flags.secret ?? []);
  if (flags.push && flags.tag.length === 0)
    throw new UserError('--push needs a name to push to: give -t REGISTRY/NAME:TAG', 'USAGE');
  const shared = await openSharedCaches(flags);
  const pull = pullPolicy(flags.pull);
  const store = await openBuildStore(storeRoot(flags.root), {
    sink,
    runner: runnerKind(flags.runner),
    ...(shared === undefined ? {} : { shared }),
    insecureRegistries: flags.insecureRegistry ?? [],
  });
  const cancel = cancelOnSignals();
  const options: BuildOptions = {
    secrets,
    signal: cancel.signal,
    contextDir,
    dockerfile,
    tags: flags.tag,
    buildArgs,
    ...target,
    ...(platforms === undefined ? {} : { platforms }),
    noCache: !flags.cache,
    noCacheFilter: flags.cacheFilter,
    pull,
    labels: Object.fromEntries(keyValues(flags.label, '--label', false)),
    ...sourceDateEpoch(),
    ...(flags.dryRun ? { dryRun: true } : {}),
    statCachePath: store.statCachePath(contextDir),
  };
  let result: BuildResult;
  try {
    result = await build(options, store.deps);
    reportWarnings(sink, warnings);
    if (output !== undefined && output.type !== 'image' && result.imageId !== undefined)
      await exportResult(store, result, flags.tag, output);
  } catch (error) {
    if (cancel.signal.aborted) {
      await store.close();
      return await cancel.exit();
    }
    if (error instanceof UserError) {
      // Plain progress already showed the output; -q did not, so the tail goes with the error.
      const tail =
        error instanceof StepError && flags.quiet ? error.outputTail.map((line) => `  ${line}\n`).join('') : '';
      error.details = `${sourceSnippet(dockerfile, error.location)}${tail}`;
    }
    throw error;
  } finally {
    cancel.dispose();
    shared?.close();
    await store.close();
  }
  if (result.imageId !== undefined && !flags.dryRun) await shareResult(flags, store, shared);
  if (result.imageId !== undefined) await collectGarbage(storeRoot(flags.root));
  // After the sink closed, so a TUI's last redraw cannot cover these lines.
  if (result.imageId === undefined) {
    // JSON progress already carries every hit and miss; stdout stays pure JSON lines.
    if (flags.progress !== 'json')
      process.stdout.write(
        `dry run: ${result.cached} step${result.cached === 1 ? '' : 's'} would be cached, ${result.ran} would run\n`,
      );
    return;
  }
  if (flags.quiet) process.stdout.write(`${result.imageId}\n`);
  if (flags.iidfile !== undefined) await writeFile(flags.iidfile, result.imageId);
}

/**
 * `--output` of a finished build. Several platforms' filesystems go to `DEST/os_arch[_variant]/`
 * each (as buildx writes them); archives carry the index.
 */
async function exportResult(
  store: BuildStore,
  result: BuildResult,
  tags: string[],
  output: ExportTarget,
): Promise<void> {
  if (output.type !== 'local' || result.platforms === undefined)
    return store.exporter.export(result.imageId as string, tags, output);
  for (const { platform, imageId } of result.platforms)
    await store.exporter.export(imageId, [], { ...output, dest: join(output.dest, platform.replaceAll('/', '_')) });
}

/** `build --check`: what `tzbuild check` does with the same arguments, in text. */
async function checkInstead(contextArg: string, flags: BuildFlags): Promise<void> {
  const { checkCommand } = await import('./check.js');
  await checkCommand(contextArg, {
    ...(flags.file === undefined ? {} : { file: flags.file }),
    buildArg: flags.buildArg,
    ...(flags.target === undefined ? {} : { target: flags.target }),
    checkSkip: flags.checkSkip ?? [],
    format: 'text',
    ...(flags.root === undefined ? {} : { root: flags.root }),
  });
}

/** Reads the `--cache-from` caches (only loaded when a cache flag is given: most builds need none of it). */
async function openSharedCaches(flags: BuildFlags): Promise<SharedCaches | undefined> {
  if ((flags.cacheFrom ?? []).length === 0 && (flags.cacheTo ?? []).length === 0) return undefined;
  const { SharedCaches } = await import('../../cache/remote/shared-cache.js');
  return SharedCaches.open(flags.cacheFrom ?? [], flags.cacheTo ?? [], storeRoot(flags.root), (line) =>
    process.stderr.write(`warning: ${line}\n`),
  );
}

/** After a successful build: `--cache-to` exports, then `--push` of each tag (summaries on stderr). */
async function shareResult(flags: BuildFlags, store: BuildStore, shared: SharedCaches | undefined): Promise<void> {
  if (shared !== undefined && store.sharedCache !== undefined) {
    for (const line of await shared.exportAll(store.sharedCache, store.images.content))
      if (!flags.quiet) process.stderr.write(`${line}\n`);
  }
  if (!flags.push) return;
  const { pushImage } = await import('../../registry/push.js');
  for (const tag of flags.tag) {
    const pushed = await pushImage(store.images, tag, { insecureRegistries: flags.insecureRegistry ?? [] });
    if (!flags.quiet)
      process.stderr.write(
        `pushed ${pushed.name}@${pushed.digest} (${pushed.uploaded} uploaded, ${pushed.existing} already there, ` +
          `${pushed.mounted} mounted)\n`,
      );
  }
}

/** The display `--progress`/`-q` and the terminal call for, plus step logs and `--metadata-file`. */
function chooseSink(flags: BuildFlags): ProgressSink {
  return createProgressSink({
    mode: progressMode(flags.progress, flags.quiet === true, {
      isTTY: process.stderr.isTTY === true,
      env: process.env,
    }),
    storeRoot: storeRoot(flags.root),
    ...(flags.metadataFile === undefined ? {} : { metadataFile: flags.metadataFile }),
    stderr: process.stderr,
    stdout: process.stdout,
  });
}

function sourceDateEpoch(): { sourceDateEpoch?: number } {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return {};
  if (!/^\d+$/.test(raw)) throw new UserError(`SOURCE_DATE_EPOCH must be a number of seconds, got "${raw}"`, 'USAGE');
  return { sourceDateEpoch: Number(raw) };
}

/** `--secret id=X,src=FILE` | `id=X,env=VAR` | `id=X` (the variable X, else the file X), as docker buildx. */
function parseSecrets(items: string[]): Map<string, SecretSource> {
  const secrets = new Map<string, SecretSource>();
  for (const item of items) {
    const fields = new Map(
      item.split(',').map((field) => {
        const eq = field.indexOf('=');
        return eq < 0 ? [field.trim(), ''] : [field.slice(0, eq).trim().toLowerCase(), field.slice(eq + 1)];
      }),
    );
    const id = fields.get('id');
    const unknown = [...fields.keys()].filter((key) => !['id', 'src', 'source', 'env', 'type'].includes(key));
    if (!id || unknown.length > 0)
      throw new UserError(`--secret ${item}: expected id=NAME,src=FILE or id=NAME,env=VAR`, 'USAGE');
    const file = fields.get('src') ?? fields.get('source');
    const env = fields.get('env');
    if (file !== undefined && env !== undefined)
      throw new UserError(`--secret ${item}: give src or env, not both`, 'USAGE');
    if (file !== undefined) secrets.set(id, { kind: 'file', path: resolve(file) });
    else if (env !== undefined || fields.get('type') === 'env' || process.env[id] !== undefined)
      secrets.set(id, { kind: 'env', name: env ?? id });
    else secrets.set(id, { kind: 'file', path: resolve(id) });
  }
  return secrets;
}

function runnerKind(flag: string | undefined): RunnerKind {
  if (flag === undefined) return 'auto';
  if (!isRunnerKind(flag))
    throw new UserError(`--runner ${flag}: unknown runner (use ${RUNNER_KINDS.join(', ')})`, 'USAGE');
  return flag;
}

/** Exit codes of a build cancelled by a signal: 128 + the signal's number, as a shell reports it. */
const cancelExitCodes = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * SIGINT/SIGTERM abort the build through `signal` (running steps are killed, mounts go with their
 * namespaces, nothing half-written is kept); a second one exits at once.
 */
function cancelOnSignals(): { signal: AbortSignal; exit(): Promise<never>; dispose(): void } {
  const controller = new AbortController();
  let received: keyof typeof cancelExitCodes | undefined;
  const onSignal = (name: keyof typeof cancelExitCodes): void => {
    if (received !== undefined) process.exit(cancelExitCodes[name]);
    received = name;
    controller.abort(new UserError(`build cancelled (${name})`, 'CANCELLED'));
  };
  const handlers = Object.keys(cancelExitCodes).map((name) => {
    const handler = () => onSignal(name as keyof typeof cancelExitCodes);
    process.on(name as NodeJS.Signals, handler);
    return [name, handler] as const;
  });
  const dispose = () => {
    for (const [name, handler] of handlers) process.off(name as NodeJS.Signals, handler);
  };
  return {
    signal: controller.signal,
    dispose,
    async exit(): Promise<never> {
      dispose();
      process.stderr.write('build cancelled\n');
      // Let what is queued for the pipes (JSON progress, this line) drain before exiting.
      await Promise.all(
        [process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write('', done))),
      );
      process.exit(cancelExitCodes[received ?? 'SIGINT']);
    },
  };
}

/** The automatic GC (when a size is configured): its failure is worth a warning, not a failed build. */
async function collectGarbage(root: string): Promise<void> {
  try {
    // Only a configured size needs the GC code loaded at all.
    const limit = await configuredKeep(root, process.env);
    if (limit !== undefined) await (await import('./store.js')).gcAfterBuild(root, process.env, limit);
  } catch (error) {
    process.stderr.write(`warning: automatic GC after the build failed: ${(error as Error).message}\n`);
  }
}
