/**
 * `--output` / `-o` of `tzbuild build`, Docker's syntax: `type=image` (the store, default),
 * `type=docker,dest=F.tar` (docker-archive for `docker load`), `type=oci,dest=F.tar` (OCI image
 * archive), `type=local,dest=DIR` (the filesystem), `type=tar,dest=F` (the filesystem as a tar);
 * a bare path means `type=local,dest=PATH`, `-` is not supported.
 */
import { UserError } from '../core/errors.js';
import { resolveImage, type ImageStore } from '../store/images.js';

export type OutputSpec = { type: 'image' } | { type: 'docker' | 'oci' | 'local' | 'tar'; dest: string };

const types = ['image', 'docker', 'oci', 'local', 'tar'];

export function parseOutput(text: string): OutputSpec {
  if (!text.includes('=')) return { type: 'local', dest: text };
  const fields = new Map(text.split(',').map((field) => {
    const eq = field.indexOf('=');
    return [field.slice(0, eq).trim(), field.slice(eq + 1)] as const;
  }));
  const type = fields.get('type') ?? 'local';
  if (!types.includes(type)) throw new UserError(`--output: unknown type "${type}" (use ${types.join(', ')})`, 'USAGE');
  if (type === 'image') return { type: 'image' };
  const dest = fields.get('dest');
  if (dest === undefined || dest === '' || dest === '-') throw new UserError(`--output type=${type} needs dest=PATH`, 'USAGE');
  return { type: type as 'docker' | 'oci' | 'local' | 'tar', dest };
}

/** Writes the built image (`imageRef`: its ID or a tag) where the spec says. */
export async function writeOutput(store: ImageStore, imageRef: string, tags: string[], spec: OutputSpec): Promise<void> {
  switch (spec.type) {
    case 'image':
      return;
    // The exporters load only when asked for: most builds export nothing.
    case 'docker':
    case 'oci':
      // One tar serves both: a docker-archive manifest.json beside an OCI layout (docker save's format since Docker 25).
      return (await import('../archive/export.js')).saveImages(store, tags.length > 0 ? tags : [imageRef], spec.dest);
    case 'local':
      return (await import('../archive/export-fs.js')).exportRootfs(store, await resolveImage(store, imageRef), spec.dest);
    case 'tar':
      return (await import('../archive/export-fs.js')).exportRootfsTar(store, await resolveImage(store, imageRef), spec.dest);
  }
}
