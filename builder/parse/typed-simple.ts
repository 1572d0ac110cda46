/**
 * Handlers for the instructions with simple arguments:
 * FROM, LABEL, MAINTAINER, EXPOSE, ENV, VOLUME, USER, WORKDIR, ARG, STOPSIGNAL.
 */
import type {
  ArgInstruction,
  EnvInstruction,
  ExposeInstruction,
  FromInstruction,
  KeyValue,
  LabelInstruction,
  MaintainerInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from '../instructions.js';
import { goQuote, trimGo } from './text.js';
import {
  baseOf,
  flagsOf,
  InstructionError,
  requireAtLeastOne,
  requireExactlyOne,
  type InstructionRequest,
} from './request.js';

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** FROM [--platform=<platform>] <image> [AS <name>] */
export function parseFrom(request: InstructionRequest): FromInstruction {
  const { args } = request;
  let stageName: string | undefined;
  if (args.length === 3 && (args[1] ?? '').toLowerCase() === 'as') {
    stageName = (args[2] ?? '').toLowerCase();
    if (!VALID_STAGE_NAME.test(stageName)) {
      throw new InstructionError(
        `invalid name for build stage: ${goQuote(args[2] ?? '')}, name can't start with a number or contain symbols`,
      );
    }
  } else if (args.length !== 1) {
    throw new InstructionError('FROM requires either one or three arguments');
  }
  const flags = flagsOf(request, { platform: 'string' });
  const from: FromInstruction = { kind: 'from', ...baseOf(request), image: args[0] ?? '' };
  if (stageName !== undefined) from.stageName = stageName;
  const platform = flags.string('platform');
  if (platform !== undefined) from.platform = platform;
  return from;
}

/** ENV/LABEL triples → pairs; `name` is used in messages. */
function keyValues(request: InstructionRequest, name: string): KeyValue[] {
  requireAtLeastOne(request, name);
  const { args } = request;
  if (args.length % 3 !== 0) throw new InstructionError(`Bad input to ${name}, too many arguments`);
  const pairs: KeyValue[] = [];
  for (let index = 0; index < args.length; index += 3) {
    const key = args[index] ?? '';
    if (key === '') throw new InstructionError(`${name} names can not be blank`);
    const pair: KeyValue = { key, value: args[index + 1] ?? '' };
    if (args[index + 2] === '') pair.legacy = true;
    pairs.push(pair);
  }
  return pairs;
}

/** ENV <key>=<value> ...  |  ENV <key> <value> */
export function parseEnv(request: InstructionRequest): EnvInstruction {
  flagsOf(request);
  return { kind: 'env', ...baseOf(request), pairs: keyValues(request, 'ENV') };
}

/** LABEL <key>=<value> ... */
export function parseLabel(request: InstructionRequest): LabelInstruction {
  flagsOf(request);
  return { kind: 'label', ...baseOf(request), pairs: keyValues(request, 'LABEL') };
}

/** MAINTAINER <name> (deprecated, still accepted) */
export function parseMaintainer(request: InstructionRequest): MaintainerInstruction {
  const maintainer = requireExactlyOne(request, 'MAINTAINER');
  flagsOf(request);
  return { kind: 'maintainer', ...baseOf(request), maintainer };
}

/** EXPOSE <port>[/<protocol>] ... (kept in written order; the image config is a set anyway) */
export function parseExpose(request: InstructionRequest): ExposeInstruction {
  requireAtLeastOne(request, 'EXPOSE');
  flagsOf(request);
  return { kind: 'expose', ...baseOf(request), ports: [...request.args] };
}

/** VOLUME ["/data"]  |  VOLUME /var/log /var/db */
export function parseVolume(request: InstructionRequest): VolumeInstruction {
  requireAtLeastOne(request, 'VOLUME');
  flagsOf(request);
  const paths = request.args.map((path) => trimGo(path));
  if (paths.includes('')) throw new InstructionError('VOLUME specified can not be an empty string');
  return { kind: 'volume', ...baseOf(request), paths };
}

/** USER <user>[:<group>] */
export function parseUser(request: InstructionRequest): UserInstruction {
  const user = requireExactlyOne(request, 'USER');
  flagsOf(request);
  return { kind: 'user', ...baseOf(request), user };
}

/** WORKDIR /path/to/workdir */
export function parseWorkdir(request: InstructionRequest): WorkdirInstruction {
  const path = requireExactlyOne(request, 'WORKDIR');
  flagsOf(request);
  return { kind: 'workdir', ...baseOf(request), path };
}

/** STOPSIGNAL <signal> */
export function parseStopsignal(request: InstructionRequest): StopsignalInstruction {
  const signal = requireExactlyOne(request, 'STOPSIGNAL');
  flagsOf(request);
  return { kind: 'stopsignal', ...baseOf(request), signal };
}

/** ARG <name>[=<default value>] ... */
export function parseArg(request: InstructionRequest): ArgInstruction {
  requireAtLeastOne(request, 'ARG');
  flagsOf(request);
  const args = request.args.map((word) => {
    const equals = word.indexOf('=');
    const key = equals < 0 ? word : word.slice(0, equals);
    if (key === '') throw new InstructionError('ARG names can not be blank');
    return equals < 0 ? { key } : { key, value: word.slice(equals + 1) };
  });
  return { kind: 'arg', ...baseOf(request), args };
}
