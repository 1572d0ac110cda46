/** Handlers for the command instructions: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK. */
import type {
  CmdInstruction,
  CommandLine,
  EntrypointInstruction,
  HealthcheckInstruction,
  RunInstruction,
  ShellInstruction,
} from '../instructions.js';
import { parseGoDuration } from './duration.js';
import { goQuote } from './text.js';
import type { FlagValues } from './flags.js';
import { baseOf, flagsOf, InstructionError, type InstructionRequest } from './request.js';

/** Exec form keeps the array; shell form is the arguments joined into one string. */
function commandLineOf(args: string[], json: boolean): CommandLine {
  if (json) return { json, args: [...args] };
  return { json, args: args.length === 0 ? [] : [args.join(' ')] };
}

/**
 * RUN [--mount=…] [--network=…] [--security=…] <command> | ["exe", "arg"]
 * Mount values stay raw; only `from=$VAR` is refused now, since stage references can't be expanded.
 */
export function parseRun(request: InstructionRequest): RunInstruction {
  const flags = flagsOf(request, { mount: 'strings', network: 'string', security: 'string' });
  const mounts = flags.strings('mount');
  for (const mount of mounts) rejectVariableMountSource(mount);
  const run: RunInstruction = {
    kind: 'run',
    ...baseOf(request),
    command: commandLineOf(request.args, request.node.json),
    mounts,
    heredocs: request.heredocs,
  };
  const network = flags.string('network');
  if (network !== undefined) run.network = network;
  const security = flags.string('security');
  if (security !== undefined) run.security = security;
  return run;
}

function rejectVariableMountSource(mount: string): void {
  for (const field of mount.split(',')) {
    const [key = '', value = ''] = field.split(/=(.*)/s);
    if (key.trim().toLowerCase() === 'from' && /\$./s.test(value)) {
      throw new InstructionError("'from' doesn't support variable expansion, define alias stage instead");
    }
  }
}

/** CMD <command> | ["exe", "arg"] */
export function parseCmd(request: InstructionRequest): CmdInstruction {
  flagsOf(request);
  return { kind: 'cmd', ...baseOf(request), command: commandLineOf(request.args, request.node.json) };
}

/** ENTRYPOINT <command> | ["exe", "arg"] */
export function parseEntrypoint(request: InstructionRequest): EntrypointInstruction {
  flagsOf(request);
  return { kind: 'entrypoint', ...baseOf(request), command: commandLineOf(request.args, request.node.json) };
}

/** SHELL ["executable", "parameters"] (JSON form only) */
export function parseShell(request: InstructionRequest): ShellInstruction {
  flagsOf(request);
  if (request.args.length === 0) throw new InstructionError('SHELL requires at least one argument');
  if (!request.node.json) throw new InstructionError(notJsonMessage('SHELL', request.original));
  return { kind: 'shell', ...baseOf(request), shell: [...request.args] };
}

/** BuildKit adds a hint when the text looks like a Windows path with unescaped backslashes. */
function notJsonMessage(name: string, original: string): string {
  const text = original.toLowerCase().replaceAll(`${name.toLowerCase()} `, '');
  const looksLikeWindowsPath =
    /"[a-z]:\\.*/.test(text) && !text.includes('\\\\') && text.includes('[') && text.includes(']');
  const hint = looksLikeWindowsPath
    ? `. It looks like '${text}' includes a file path without an escaped back-slash. JSON requires ` +
      'back-slashes to be escaped such as ["c:\\\\path\\\\to\\\\file.exe", "/parameter"]'
    : '';
  return `${name} requires the arguments to be in JSON form${hint}`;
}

const HEALTH_FLAGS = {
  interval: 'string',
  timeout: 'string',
  'start-period': 'string',
  'start-interval': 'string',
  retries: 'string',
} as const;

/** HEALTHCHECK [--interval=… --timeout=… --start-period=… --start-interval=… --retries=…] CMD … | NONE */
export function parseHealthcheck(request: InstructionRequest): HealthcheckInstruction {
  const [first, ...rest] = request.args;
  if (first === undefined) throw new InstructionError('HEALTHCHECK requires at least one argument');
  const type = first.toUpperCase();
  if (type === 'NONE') {
    if (rest.length > 0) throw new InstructionError('HEALTHCHECK NONE takes no arguments');
    return { kind: 'healthcheck', ...baseOf(request), test: { type: 'none' } };
  }
  const flags = flagsOf(request, HEALTH_FLAGS);
  if (type !== 'CMD') throw new InstructionError(`Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`);
  const command = commandLineOf(rest, request.node.json);
  if (command.args.length === 0) throw new InstructionError('Missing command after HEALTHCHECK CMD');
  const check: HealthcheckInstruction = { kind: 'healthcheck', ...baseOf(request), test: { type: 'cmd', command } };
  for (const [flag, field] of DURATION_FIELDS) {
    const nanos = durationFlag(flags, flag);
    if (nanos !== undefined) check[field] = nanos;
  }
  const retries = flags.string('retries');
  if (retries !== undefined && retries !== '') check.retries = parseRetries(retries);
  return check;
}

const DURATION_FIELDS = [
  ['interval', 'interval'],
  ['timeout', 'timeout'],
  ['start-period', 'startPeriod'],
  ['start-interval', 'startInterval'],
] as const;

/** Docker's minimum for any non-zero health-check duration. */
const MINIMUM_DURATION_NANOS = 1e6;

function durationFlag(flags: FlagValues, name: string): number | undefined {
  const text = flags.string(name);
  if (text === undefined || text === '') return undefined;
  let nanos: number;
  try {
    nanos = parseGoDuration(text);
  } catch (error) {
    throw new InstructionError((error as Error).message);
  }
  if (nanos !== 0 && nanos < MINIMUM_DURATION_NANOS) {
    throw new InstructionError(`Interval ${goQuote(name)} cannot be less than 1ms`);
  }
  return nanos;
}

function parseRetries(text: string): number {
  if (!/^[+-]?\d+$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) {
    throw new InstructionError(`strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax`);
  }
  const retries = Number(text);
  if (retries < 0) throw new InstructionError(`--retries cannot be negative (${retries})`);
  return retries;
}
