/**
 * Config-only instructions: pure functions `state → state` (no port is touched). Each is headed by
 * its syntax. They return the new state and the history `created_by` text, BuildKit style.
 */
import type {
  ArgInstruction,
  CmdInstruction,
  CommandLine,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  HealthcheckInstruction,
  LabelInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  ShellInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
} from '../instructions.js';
import type { ContainerConfig } from '../../core/oci.js';
import { DockerfileError } from '../../core/errors.js';
import { expandOrThrow, expandWordsOrThrow, type ExpandWhere } from '../expand.js';
import { envMap, expansionEnv, setEnv, type StageState } from '../state.js';
import { isKnownSignal } from '../signals.js';

/** What a metadata step needs besides its instruction. */
export interface MetadataContext {
  file: string;
  escapeToken: '\\' | '`';
  buildArgs: Map<string, string>;
  globalArgs: Map<string, string | undefined>;
}

export interface MetadataResult {
  state: StageState;
  createdBy: string;
  /** False for ONBUILD: BuildKit records triggers in the config only, with no history entry. */
  history?: false;
}

function where(ctx: MetadataContext, instruction: { range: ExpandWhere['range'] }): ExpandWhere {
  return { file: ctx.file, escapeToken: ctx.escapeToken, range: instruction.range };
}

function withConfig(state: StageState, patch: Partial<ContainerConfig>): StageState {
  return { ...state, config: { ...state.config, config: { ...state.config.config, ...patch } } };
}

/** Go's `%q` of a string slice, as BuildKit writes CMD/ENTRYPOINT into history. */
function goQuoteList(values: string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(' ')}]`;
}

/** The argv a CMD/ENTRYPOINT/RUN line stands for: exec form as is, shell form wrapped in SHELL. */
export function commandArgv(command: CommandLine, shell: string[] | undefined): string[] {
  if (command.json) return command.args;
  return [...(shell ?? ['/bin/sh', '-c']), command.args[0] ?? ''];
}

// ENV <key>=<value> ...  |  ENV <key> <value>
export function applyEnv(state: StageState, instruction: EnvInstruction, ctx: MetadataContext): MetadataResult {
  const env = expansionEnv(state);
  let list = state.config.config.Env;
  const shown: string[] = [];
  for (const pair of instruction.pairs) {
    const key = expandOrThrow(pair.key, env, where(ctx, instruction));
    const value = expandOrThrow(pair.value, env, where(ctx, instruction));
    list = setEnv(list, key, value);
    shown.push(`${key}=${value}`);
  }
  // An ENV set after an ARG of the same name wins again.
  const argOverrides = withoutKeys(
    state.argOverrides,
    instruction.pairs.map((pair) => expandOrThrow(pair.key, env, where(ctx, instruction))),
  );
  return { state: { ...withConfig(state, { Env: list ?? [] }), argOverrides }, createdBy: `ENV ${shown.join(' ')}` };
}

// LABEL <key>=<value> ...
export function applyLabel(state: StageState, instruction: LabelInstruction, ctx: MetadataContext): MetadataResult {
  const env = expansionEnv(state);
  const labels = { ...(state.config.config.Labels ?? {}) };
  const shown: string[] = [];
  for (const pair of instruction.pairs) {
    const key = expandOrThrow(pair.key, env, where(ctx, instruction));
    const value = expandOrThrow(pair.value, env, where(ctx, instruction));
    labels[key] = value;
    shown.push(`${key}=${value}`);
  }
  return { state: withConfig(state, { Labels: labels }), createdBy: `LABEL ${shown.join(' ')}` };
}

// MAINTAINER <name>
export function applyMaintainer(state: StageState, instruction: MaintainerInstruction): MetadataResult {
  return {
    state: { ...state, config: { ...state.config, author: instruction.maintainer } },
    createdBy: `MAINTAINER ${instruction.maintainer}`,
  };
}

// CMD ["exec","arg"]  |  CMD command arg
export function applyCmd(state: StageState, instruction: CmdInstruction): MetadataResult {
  const argv = commandArgv(instruction.command, state.config.config.Shell);
  const next = withConfig(state, { Cmd: argv, ...(instruction.command.json ? {} : { ArgsEscaped: true }) });
  return { state: { ...next, cmdSet: true }, createdBy: `CMD ${goQuoteList(argv)}` };
}

// ENTRYPOINT ["exec","arg"]  |  ENTRYPOINT command arg
export function applyEntrypoint(state: StageState, instruction: EntrypointInstruction): MetadataResult {
  const argv = commandArgv(instruction.command, state.config.config.Shell);
  // Docker: an ENTRYPOINT drops a CMD inherited from the base image, but not one set in this stage.
  const patch: Partial<ContainerConfig> = { Entrypoint: argv, ...(state.cmdSet ? {} : { Cmd: null }) };
  if (!instruction.command.json) patch.ArgsEscaped = true;
  return { state: withConfig(state, patch), createdBy: `ENTRYPOINT ${goQuoteList(argv)}` };
}

// SHELL ["executable", "params"]
export function applyShell(state: StageState, instruction: ShellInstruction): MetadataResult {
  // BuildKit formats the list with Go's %v: `SHELL [/bin/sh -e -c]`, no quotes.
  return {
    state: withConfig(state, { Shell: instruction.shell }),
    createdBy: `SHELL [${instruction.shell.join(' ')}]`,
  };
}

// EXPOSE <port>[/<protocol>] ...
export function applyExpose(state: StageState, instruction: ExposeInstruction, ctx: MetadataContext): MetadataResult {
  const env = expansionEnv(state);
  const ports = { ...(state.config.config.ExposedPorts ?? {}) };
  const added: string[] = [];
  for (const word of instruction.ports) {
    for (const spec of expandWordsOrThrow(word, env, where(ctx, instruction))) {
      for (const port of expandPortSpec(spec, ctx, instruction.range.startLine)) {
        ports[port] = {};
        added.push(port);
      }
    }
  }
  return {
    state: withConfig(state, { ExposedPorts: ports }),
    createdBy: `EXPOSE map[${added.map((p) => `${p}:{}`).join(' ')}]`,
  };
}

/** `80`, `80/udp`, `8000-8002/tcp` → the port keys Docker stores. */
function expandPortSpec(spec: string, ctx: MetadataContext, line: number): string[] {
  const match = /^(?:[^:]*:)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (match === null) throw new DockerfileError(`invalid containerPort: ${spec}`, ctx.file, line);
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  const protocol = (match[3] ?? 'tcp').toLowerCase();
  if (end < start || end > 65535)
    throw new DockerfileError(`invalid range specified for containerPort: ${spec}`, ctx.file, line);
  return Array.from({ length: end - start + 1 }, (_, offset) => `${start + offset}/${protocol}`);
}

// VOLUME ["/data"]  |  VOLUME /var/log /var/db
export function applyVolume(state: StageState, instruction: VolumeInstruction, ctx: MetadataContext): MetadataResult {
  const env = expansionEnv(state);
  const volumes = { ...(state.config.config.Volumes ?? {}) };
  const added: string[] = [];
  for (const path of instruction.paths) {
    const expanded = expandOrThrow(path, env, where(ctx, instruction)).trim();
    if (expanded === '')
      throw new DockerfileError('VOLUME specified can not be an empty string', ctx.file, instruction.range.startLine);
    volumes[expanded] = {};
    added.push(expanded);
  }
  return { state: withConfig(state, { Volumes: volumes }), createdBy: `VOLUME [${added.join(' ')}]` };
}

// USER <user>[:<group>]
export function applyUser(state: StageState, instruction: UserInstruction, ctx: MetadataContext): MetadataResult {
  const user = expandOrThrow(instruction.user, expansionEnv(state), where(ctx, instruction));
  return { state: withConfig(state, { User: user }), createdBy: `USER ${user}` };
}

// STOPSIGNAL <signal>
export function applyStopsignal(
  state: StageState,
  instruction: StopsignalInstruction,
  ctx: MetadataContext,
): MetadataResult {
  const signal = expandOrThrow(instruction.signal, expansionEnv(state), where(ctx, instruction));
  if (!isKnownSignal(signal))
    throw new DockerfileError(`Invalid signal: ${signal}`, ctx.file, instruction.range.startLine, undefined, 'SIGNAL');
  return { state: withConfig(state, { StopSignal: signal }), createdBy: `STOPSIGNAL ${signal}` };
}

// HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD … | NONE
export function applyHealthcheck(state: StageState, instruction: HealthcheckInstruction): MetadataResult {
  const test =
    instruction.test.type === 'none'
      ? ['NONE']
      : instruction.test.command.json
        ? ['CMD', ...instruction.test.command.args]
        : ['CMD-SHELL', instruction.test.command.args[0] ?? ''];
  const health = {
    Test: test,
    ...(instruction.interval === undefined ? {} : { Interval: instruction.interval }),
    ...(instruction.timeout === undefined ? {} : { Timeout: instruction.timeout }),
    ...(instruction.startPeriod === undefined ? {} : { StartPeriod: instruction.startPeriod }),
    ...(instruction.startInterval === undefined ? {} : { StartInterval: instruction.startInterval }),
    ...(instruction.retries === undefined ? {} : { Retries: instruction.retries }),
  };
  return {
    state: withConfig(state, { Healthcheck: health }),
    createdBy: `HEALTHCHECK ${healthcheckText(test, instruction)}`,
  };
}

/** BuildKit's `%+v` of its HealthcheckConfig struct: every field, durations in Go's notation. */
function healthcheckText(test: string[], instruction: HealthcheckInstruction): string {
  const duration = (ns: number | undefined) => goDuration(ns ?? 0);
  return (
    `{Test:[${test.join(' ')}] Interval:${duration(instruction.interval)} Timeout:${duration(instruction.timeout)} ` +
    `StartPeriod:${duration(instruction.startPeriod)} StartInterval:${duration(instruction.startInterval)} ` +
    `Retries:${instruction.retries ?? 0}}`
  );
}

/** Go's time.Duration.String(): `0s`, `500ms`, `1m30s`, `1h0m0s`, `1.5s`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const abs = Math.abs(ns);
  const trim = (value: number) => String(Number(value.toFixed(9)));
  if (abs < 1e3) return `${sign}${abs}ns`;
  if (abs < 1e6) return `${sign}${trim(abs / 1e3)}µs`;
  if (abs < 1e9) return `${sign}${trim(abs / 1e6)}ms`;
  const hours = Math.floor(abs / 3.6e12);
  const minutes = Math.floor((abs % 3.6e12) / 6e10);
  const seconds = trim((abs % 6e10) / 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

// ONBUILD <INSTRUCTION>
export function applyOnbuild(state: StageState, instruction: OnbuildInstruction): MetadataResult {
  const onBuild = [...(state.config.config.OnBuild ?? []), instruction.expression];
  return {
    state: withConfig(state, { OnBuild: onBuild }),
    createdBy: `ONBUILD ${instruction.expression}`,
    history: false,
  };
}

// ARG <name>[=<default value>] ...
export function applyArg(state: StageState, instruction: ArgInstruction, ctx: MetadataContext): MetadataResult {
  const args = new Map(state.args);
  const argOverrides = new Map(state.argOverrides);
  const shown: string[] = [];
  for (const decl of instruction.args) {
    let value = ctx.buildArgs.get(decl.key);
    if (value === undefined && decl.value !== undefined) {
      value = expandOrThrow(decl.value, expansionEnv({ ...state, args }), where(ctx, instruction));
    }
    // A bare `ARG X` in a stage takes the global ARG's value (Docker's scoping rule).
    if (value === undefined && decl.value === undefined) value = ctx.globalArgs.get(decl.key);
    args.set(decl.key, value);
    // BuildKit sets a valued ARG into the build env in order, so one declared after an ENV of the
    // same name wins for the steps that follow (the image's Env keeps the ENV value).
    if (value !== undefined) argOverrides.set(decl.key, value);
    shown.push(value === undefined ? decl.key : `${decl.key}=${value}`);
  }
  const env = envMap(state.config);
  for (const key of [...argOverrides.keys()]) if (!env.has(key)) argOverrides.delete(key);
  return { state: { ...state, args, argOverrides }, createdBy: `ARG ${shown.join(' ')}` };
}

function withoutKeys(map: ReadonlyMap<string, string> | undefined, keys: string[]): Map<string, string> {
  const next = new Map(map);
  for (const key of keys) next.delete(key);
  return next;
}
