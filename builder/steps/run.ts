// RUN [--mount=…] [--network=default|none|host] <command>  |  RUN ["exec", "arg"]  |  RUN <<EOF …
/**
 * A RUN step: the command runs through the Runner over the parent's snapshots; its upperdir
 * becomes the layer. The cache key holds exactly what the command can observe: argv, env (ENV
 * plus ARGs in scope), user, working dir, network, platform, the mounts (run-mounts.ts: never a
 * secret's value) and a heredoc script's text.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { removeTree } from '../../sys/remove-tree.js';
import { join } from 'node:path';
import { DockerfileError, StepError } from '../../core/errors.js';
import type { LayerRef } from '../../core/ports.js';
import type { RunInstruction } from '../instructions.js';
import type { StepContext } from '../session.js';
import { DEFAULT_PATH, envMap, platformOf, type StageState } from '../state.js';
import { cachedStep } from '../step-cache.js';
import { withStep } from '../history.js';
import { envInput, shownByInstruction } from '../step-inputs.js';
import { commandArgv } from './metadata.js';
import { proxyArgs } from '../platform.js';
import { resolveRunUser } from '../users.js';
import { OutputTail } from './output-tail.js';
import { mountsKey, openMounts, planMounts, type PlannedMount } from './run-mounts.js';
import { atLine } from './run-mount-sources.js';
import { sha256 } from './copy-sources.js';
import type { RunMount } from '../../core/ports.js';

export async function runStep(state: StageState, instruction: RunInstruction, ctx: StepContext): Promise<StageState> {
  const where = (message: string) =>
    new DockerfileError(message, ctx.plan.file, instruction.range.startLine, instruction.range.endLine);
  if (instruction.security !== undefined && instruction.security !== 'sandbox') {
    throw where(`RUN --security=${instruction.security} is not supported (only sandbox)`);
  }
  const network = instruction.network ?? 'default';
  if (!['default', 'none', 'host'].includes(network))
    throw where(`unsupported network mode "${network}" (use default, none or host)`);
  const { argv, script } = runArgv(state, instruction);
  const mounts = await planMounts(state, instruction, ctx).catch((error: unknown) =>
    atLine(error, ctx.plan.file, instruction.range.startLine),
  );
  const { env, shownArgs } = runEnv(state, ctx);
  const user = state.config.config.User ?? '';
  const cwd = state.config.config.WorkingDir || '/';
  const argsShown = shownArgs.length > 0 ? `|${shownArgs.length} ${shownArgs.join(' ')} ` : '';
  const createdBy = `RUN ${argsShown}${argv.join(' ')} # buildkit`;
  const run: RunPlan = {
    argv,
    env,
    user,
    cwd,
    network,
    mounts,
    line: instruction.range.startLine,
    endLine: instruction.range.endLine,
    ...(script ? { script } : {}),
  };
  const outcome = await cachedStep(ctx, state, {
    description: {
      instruction: instruction.original,
      inputs: {
        kind: shownByInstruction('run'),
        argv: { key: argv },
        env: envInput(state, env),
        user: { key: user, explain: { user } },
        cwd: { key: cwd, explain: { workdir: cwd } },
        network: { key: network, explain: { network } },
        platform: { key: platformOf(state) },
        // Mounts and scripts enter the key only when present, so plain RUN keys stay as they were.
        mounts:
          mounts.length > 0
            ? { key: mountsKey(mounts), explain: Object.assign({}, ...mounts.map((mount) => mount.explain)) }
            : undefined,
        script: script ? { key: [script.name, sha256(script.content)] } : undefined,
      },
    },
    execute: () => execute(state, ctx, run),
  });
  return withStep(state, createdBy, outcome);
}

/** A `RUN <<EOF` body starting with `#!`: run as an executable file at /dev/pipes/NAME (BuildKit). */
interface HeredocScript {
  name: string;
  content: string;
}

/** Where BuildKit mounts heredoc scripts (read-only), outside the layer. */
const scriptDir = '/dev/pipes';

/** The argv: exec form as written; shell form through SHELL, with heredocs handed to the shell. */
function runArgv(state: StageState, instruction: RunInstruction): { argv: string[]; script?: HeredocScript } {
  const { command, heredocs } = instruction;
  if (command.json || heredocs.length === 0) return { argv: commandArgv(command, state.config.config.Shell) };
  const line = command.args[0] ?? '';
  const shell = state.config.config.Shell ?? ['/bin/sh', '-c'];
  const only = heredocs[0]!;
  if (heredocs.length === 1 && /^\s*\d*<<-?\s*(["']?)[^\s"']+\1\s*$/.test(line)) {
    // `RUN <<EOF` alone: the body is the script.
    const body = only.chomp ? only.content.replace(/^\t+/gm, '') : only.content;
    if (body.startsWith('#!'))
      return { argv: [`${scriptDir}/${only.name}`], script: { name: only.name, content: body } };
    return { argv: [...shell, body] };
  }
  // Otherwise the heredocs feed the command: the shell itself reads them, as it would in a script.
  const script = [line, ...heredocs.map((heredoc) => `${heredoc.content}${heredoc.name}`)].join('\n');
  return { argv: [...shell, script] };
}

/**
 * ENV of the image plus ARGs in scope (ENV wins, except over an ARG declared after it), plus proxy
 * build args; BuildKit's default PATH if none.
 */
function runEnv(state: StageState, ctx: StepContext): { env: string[]; shownArgs: string[] } {
  const env = envMap(state.config);
  for (const [key, value] of state.args) if (value !== undefined && !env.has(key)) env.set(key, value);
  for (const [key, value] of state.argOverrides ?? []) env.set(key, value);
  // BuildKit's `|N` prefix lists every declared ARG with the value the step sees ('' when unset).
  const shownArgs = [...state.args.keys()]
    .filter((key) => !proxyArgs.has(key))
    .map((key) => `${key}=${env.get(key) ?? ''}`);
  for (const [key, value] of ctx.plan.buildArgs) if (proxyArgs.has(key) && !env.has(key)) env.set(key, value);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  return { env: [...env].map(([key, value]) => `${key}=${value}`), shownArgs };
}

interface RunPlan {
  argv: string[];
  env: string[];
  user: string;
  cwd: string;
  network: string;
  mounts: PlannedMount[];
  script?: HeredocScript;
  line: number;
  endLine: number;
}

async function execute(state: StageState, ctx: StepContext, run: RunPlan): Promise<LayerRef | undefined> {
  const { deps } = ctx;
  const lowerdirs = await deps.snapshotter.prepare(state.layers);
  // No USER means root. Like runc, HOME (when ENV does not set it) is the user's passwd home.
  const ids = await resolveRunUser(await deps.snapshotter.view(state.layers), run.user).catch((error: Error) => {
    throw new DockerfileError(error.message, ctx.plan.file, run.line, run.endLine);
  });
  const baseEnv = run.env.some((entry) => entry.startsWith('HOME=')) ? run.env : [...run.env, `HOME=${ids.home}`];
  // Three tiny calls: done directly, not as thread-pool round trips (runners/sandbox-dir.ts).
  const work = mkdtempSync(join(deps.tmpDir, 'run-'));
  const tail = new OutputTail((stream, line) => ctx.emit({ type: 'step.output', stepId: ctx.stepId, stream, line }));
  let opened: Awaited<ReturnType<typeof openMounts>> | undefined;
  try {
    const upperdir = join(work, 'upper');
    const workdir = join(work, 'work');
    mkdirSync(upperdir);
    mkdirSync(workdir);
    opened = await openMounts(run.mounts, state, ctx, join(work, 'mounts')).catch((error: unknown) =>
      atLine(error, ctx.plan.file, run.line),
    );
    const scriptMount = run.script ? [await writeScript(work, run.script)] : [];
    const result = await deps.runner
      .run({
        lowerdirs,
        upperdir,
        workdir,
        args: run.argv,
        env: withSecretEnv(baseEnv, opened.env),
        cwd: run.cwd,
        uid: ids.uid,
        gid: ids.gid,
        additionalGids: ids.additionalGids,
        network: run.network === 'none' ? 'none' : 'host',
        onOutput: (stream, chunk) => tail.push(stream, chunk),
        ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
        // The stopped container's cgroups and scratch dir go while the build moves on.
        tidy: ctx.tidy,
        mounts: [...opened.mounts, ...scriptMount],
      })
      .catch((error: unknown) => atLine(error, ctx.plan.file, run.line));
    tail.flush();
    if (result.exitCode !== 0 || result.signal !== undefined) throw failure(ctx, run, result, tail.lines());
    const options = ctx.options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: ctx.options.sourceDateEpoch };
    const layer = await deps.layers.write(deps.layers.fromUpperdir(upperdir), options);
    if (layer.entries === 0) return undefined;
    const ref = { diffId: layer.diffId, size: layer.size };
    // The upperdir is the layer: the next step uses it as the snapshot instead of unpacking the
    // tar (BuildKit's snapshots work the same way). Not with SOURCE_DATE_EPOCH, where the tar's
    // clamped times are what later steps must see.
    if (ctx.options.sourceDateEpoch === undefined) await deps.snapshotter.adopt?.([...state.layers, ref], upperdir);
    return ref;
  } finally {
    await opened?.close();
    // What is left (the overlay's workdir) goes while the build moves on.
    ctx.tidy(removeTree(work));
  }
}

/** Secrets exposed as variables replace a same-named variable (they never enter the key). */
function withSecretEnv(env: string[], secrets: string[]): string[] {
  if (secrets.length === 0) return env;
  const names = new Set(secrets.map((entry) => entry.slice(0, entry.indexOf('='))));
  return [...env.filter((entry) => !names.has(entry.slice(0, entry.indexOf('=')))), ...secrets];
}

/** The heredoc script as a 0755 file in a dir of its own, mounted read-only at /dev/pipes. */
async function writeScript(work: string, script: HeredocScript): Promise<RunMount> {
  const dir = join(work, 'pipes');
  await mkdir(dir, { mode: 0o755 });
  const file = join(dir, script.name);
  await writeFile(file, script.content);
  await chmod(file, 0o755);
  return { kind: 'bind', source: dir, target: scriptDir, readonly: true };
}

/** Characters of the command a failure message quotes: a RUN continued over thousands of lines stays one line. */
const MAX_SHOWN_COMMAND = 200;

function shownCommand(argv: string[]): string {
  const command = argv.join(' ');
  return command.length <= MAX_SHOWN_COMMAND ? command : `${command.slice(0, MAX_SHOWN_COMMAND)}…`;
}

function failure(
  ctx: StepContext,
  run: RunPlan,
  result: { exitCode: number; signal?: string },
  lines: string[],
): StepError {
  const how = result.signal !== undefined ? `killed by signal ${result.signal}` : `exit code: ${result.exitCode}`;
  const shown = shownCommand(run.argv);
  const message = `${ctx.plan.file}:${run.line}: process "${shown}" did not complete successfully: ${how}`;
  const error = new StepError(message, result.exitCode, result.signal, lines);
  error.location = {
    file: ctx.plan.file,
    line: run.line,
    ...(run.endLine === run.line ? {} : { endLine: run.endLine }),
  };
  return error;
}
