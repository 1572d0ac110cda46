/**
 * `--cache-to` / `--cache-from` values, as buildx writes them: `type=registry,ref=R[,mode=min|max]`,
 * `type=local,dest=DIR[,mode=…]` (export) and `type=local,src=DIR` (import); a bare `R` on
 * `--cache-from` means `type=registry,ref=R`.
 */
import { resolve } from 'node:path';
import { UserError } from '../../core/errors.js';

/** Where a cache lives. */
export type CacheLocationSpec = { type: 'registry'; ref: string } | { type: 'local'; dir: string };

/** min: the records of the stages whose layers are in the image; max: every stage's. */
export type CacheExportMode = 'min' | 'max';

export interface CacheExportSpec {
  location: CacheLocationSpec;
  mode: CacheExportMode;
  /** The flag value as given, for messages. */
  text: string;
}

export interface CacheImportSpec {
  location: CacheLocationSpec;
  text: string;
}

export function parseCacheTo(text: string): CacheExportSpec {
  const fields = parseFields('--cache-to', text, ['type', 'ref', 'dest', 'mode']);
  const mode = fields.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw usage('--cache-to', text, `mode must be min or max, not "${mode}"`);
  return { location: location('--cache-to', text, fields, 'dest'), mode, text };
}

export function parseCacheFrom(text: string): CacheImportSpec {
  if (!text.includes('=')) return { location: { type: 'registry', ref: text }, text };
  const fields = parseFields('--cache-from', text, ['type', 'ref', 'src']);
  return { location: location('--cache-from', text, fields, 'src'), text };
}

function location(
  flag: string,
  text: string,
  fields: Map<string, string>,
  dirField: 'src' | 'dest',
): CacheLocationSpec {
  const type = fields.get('type');
  if (type === 'registry') {
    const ref = fields.get('ref');
    if (!ref) throw usage(flag, text, 'type=registry needs ref=NAME[:TAG]');
    return { type, ref };
  }
  if (type === 'local') {
    const dir = fields.get(dirField);
    if (!dir) throw usage(flag, text, `type=local needs ${dirField}=DIR`);
    return { type, dir: resolve(dir) };
  }
  throw usage(
    flag,
    text,
    type === undefined
      ? 'give type=registry or type=local'
      : `unsupported cache type "${type}" (use registry or local)`,
  );
}

function parseFields(flag: string, text: string, known: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const field of text.split(',')) {
    const eq = field.indexOf('=');
    const name = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (eq < 0 || !known.includes(name))
      throw usage(flag, text, `unknown field "${field}" (expected ${known.join(', ')})`);
    fields.set(name, field.slice(eq + 1).trim());
  }
  return fields;
}

function usage(flag: string, text: string, why: string): UserError {
  return new UserError(`${flag} ${text}: ${why}`, 'USAGE');
}
