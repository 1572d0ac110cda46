/**
 * Typed flag parsing for one instruction (BuildKit's BFlags): each instruction declares its
 * flags; anything else is an error with a "did you mean" hint.
 */
import { withSuggestion } from '../suggest.js';

type FlagKind = 'string' | 'bool' | 'strings';

/** The flags an instruction accepts, by name (without `--`). */
export type FlagSpec = Record<string, FlagKind>;

/** Parsed flag values: strings for `string`/`bool` ('true'/'false'), lists for `strings`. */
export interface FlagValues {
  string(name: string): string | undefined;
  bool(name: string): boolean;
  strings(name: string): string[];
}

/** A flag problem; the caller adds file and line. */
export class FlagError extends Error {}

/** Parses `--name[=value]` words against `spec`. */
export function parseFlags(flags: string[], spec: FlagSpec): FlagValues {
  const values = new Map<string, string[]>();
  for (const flag of flags) {
    if (!flag.startsWith('--')) throw new FlagError(`arg should start with -- : ${flag}`);
    const equals = flag.indexOf('=');
    const name = equals < 0 ? flag.slice(2) : flag.slice(2, equals);
    const value = equals < 0 ? undefined : flag.slice(equals + 1);
    const kind = spec[name];
    if (kind === undefined) {
      throw new FlagError(withSuggestion(`unknown flag: --${name}`, name, Object.keys(spec)));
    }
    const seen = values.get(name);
    if (seen && kind !== 'strings') throw new FlagError(`duplicate flag specified: ${name}`);
    values.set(name, [...(seen ?? []), flagValue(name, kind, value)]);
  }
  return {
    string: (name) => values.get(name)?.[0],
    bool: (name) => values.get(name)?.[0] === 'true',
    strings: (name) => values.get(name) ?? [],
  };
}

function flagValue(name: string, kind: FlagKind, value: string | undefined): string {
  if (kind !== 'bool') {
    if (value === undefined) throw new FlagError(`missing a value on flag: ${name}`);
    return value;
  }
  // `--link` alone means true; `--link=` (an empty value) is an error.
  if (value === '') throw new FlagError(`missing a value on flag: ${name}`);
  const lower = (value ?? 'true').toLowerCase();
  if (lower !== 'true' && lower !== 'false') {
    throw new FlagError(`expecting boolean value for flag ${name}, not: ${value ?? ''}`);
  }
  return lower;
}
