/**
 * `RUN --mount=` specs: parsed and checked here (so a typo is an error with its line), executed
 * by the runner layer. Syntax: comma-separated `key=value` (or bare boolean `key`).
 */
import { DockerfileError } from '../core/errors.js';
import { withSuggestion } from './suggest.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

export interface MountSpec {
  type: MountType;
  target?: string;
  source?: string;
  from?: string;
  readonly: boolean;
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  required?: boolean;
  env?: string;
  size?: string;
}

const mountTypes: MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const mountKeys = [
  'type',
  'target',
  'dst',
  'destination',
  'source',
  'src',
  'from',
  'readonly',
  'ro',
  'rw',
  'readwrite',
  'id',
  'sharing',
  'mode',
  'uid',
  'gid',
  'required',
  'env',
  'size',
];

/** Parses one `--mount` value; throws a DockerfileError at `line` on any mistake. */
export function parseMountSpec(raw: string, file: string, line: number): MountSpec {
  const fail = (message: string): never => {
    throw new DockerfileError(message, file, line);
  };
  const mount: MountSpec = { type: 'bind', readonly: true };
  let readonlySet = false;
  for (const field of raw.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (!mountKeys.includes(key)) fail(withSuggestion(`unexpected key '${key}' in '${field}'`, key, mountKeys));
    switch (key) {
      case 'type':
        if (!mountTypes.includes(value as MountType)) {
          fail(withSuggestion(`unsupported mount type "${value ?? ''}"`, value ?? '', mountTypes));
        }
        mount.type = value as MountType;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value ?? '';
        break;
      case 'source':
      case 'src':
        mount.source = value ?? '';
        break;
      case 'from':
        if (value?.includes('$')) fail("'from' doesn't support variable expansion, define alias stage instead");
        mount.from = value ?? '';
        break;
      case 'readonly':
      case 'ro':
        mount.readonly = parseBool(value, key, fail);
        readonlySet = true;
        break;
      case 'rw':
      case 'readwrite':
        mount.readonly = !parseBool(value, key, fail);
        readonlySet = true;
        break;
      case 'id':
        mount.id = value ?? '';
        break;
      case 'sharing':
        if (value !== 'shared' && value !== 'private' && value !== 'locked')
          fail(`unsupported sharing value "${value ?? ''}"`);
        mount.sharing = value as MountSpec['sharing'];
        break;
      case 'mode':
        mount.mode = parseNumber(value, 8, key, fail);
        break;
      case 'uid':
        mount.uid = parseNumber(value, 10, key, fail);
        break;
      case 'gid':
        mount.gid = parseNumber(value, 10, key, fail);
        break;
      case 'required':
        mount.required = parseBool(value, key, fail);
        break;
      case 'env':
        mount.env = value ?? '';
        break;
      case 'size':
        mount.size = value ?? '';
        break;
    }
  }
  // Cache and tmpfs mounts are writable unless asked otherwise; bind mounts are read-only.
  if (!readonlySet && (mount.type === 'cache' || mount.type === 'tmpfs')) mount.readonly = false;
  if (mount.target === undefined && mount.type !== 'secret' && mount.type !== 'ssh')
    fail('mount destination (target) is required');
  return mount;
}

function parseBool(value: string | undefined, key: string, fail: (message: string) => never): boolean {
  if (value === undefined || value === '' || value === 'true') return true;
  if (value === 'false') return false;
  return fail(`invalid value for ${key}: ${value}`);
}

function parseNumber(value: string | undefined, radix: number, key: string, fail: (message: string) => never): number {
  const parsed = value === undefined ? NaN : Number.parseInt(value, radix);
  if (!Number.isFinite(parsed) || parsed < 0) fail(`invalid value for ${key}: ${value ?? ''}`);
  return parsed;
}
