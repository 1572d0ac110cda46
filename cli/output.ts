/**
 * `--output` / `-o` of `tzbuild build`, Docker's syntax: `type=image` (the store, default),
 * `type=docker,dest=F.tar` (docker-archive for `docker load`), `type=oci,dest=F.tar` (OCI image
 * archive), `type=local,dest=DIR` (the filesystem), `type=tar,dest=F` (the filesystem as a tar);
 * a bare path means `type=local,dest=PATH`, `-` is not supported.
 */
import { UserError } from '../core/errors.js';
import type { ExportTarget } from '../core/ports.js';

/** `type=image` keeps the image in the store only; the others go to the Exporter too. */
export type OutputSpec = { type: 'image' } | ExportTarget;

const types = ['image', 'docker', 'oci', 'local', 'tar'];

export function parseOutput(text: string): OutputSpec {
  if (!text.includes('=')) return { type: 'local', dest: text };
  const fields = new Map(
    text.split(',').map((field) => {
      const eq = field.indexOf('=');
      return [field.slice(0, eq).trim(), field.slice(eq + 1)] as const;
    }),
  );
  const type = fields.get('type') ?? 'local';
  if (!types.includes(type)) throw new UserError(`--output: unknown type "${type}" (use ${types.join(', ')})`, 'USAGE');
  if (type === 'image') return { type: 'image' };
  const dest = fields.get('dest');
  if (dest === undefined || dest === '' || dest === '-')
    throw new UserError(`--output type=${type} needs dest=PATH`, 'USAGE');
  return { type: type as ExportTarget['type'], dest };
}
