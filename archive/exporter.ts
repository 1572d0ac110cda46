/**
 * The Exporter port over the store (`--output`): one tar that is both a docker-archive and an
 * OCI layout for `docker` and `oci` (docker save's format since Docker 25), the merged filesystem
 * for `local` and `tar`. The writers load only when asked for: most builds export nothing.
 */
import type { ExportTarget, Exporter } from '../core/ports.js';
import { resolveImage, type ImageStore } from '../store/images.js';

export class StoreExporter implements Exporter {
  constructor(private readonly store: ImageStore) {}

  async export(image: string, tags: string[], target: ExportTarget): Promise<void> {
    switch (target.type) {
      case 'docker':
      case 'oci':
        return (await import('./export.js')).saveImages(this.store, tags.length > 0 ? tags : [image], target.dest);
      case 'local':
        return (await import('./export-fs.js')).exportRootfs(
          this.store,
          await resolveImage(this.store, image),
          target.dest,
        );
      case 'tar':
        return (await import('./export-fs.js')).exportRootfsTar(
          this.store,
          await resolveImage(this.store, image),
          target.dest,
        );
    }
  }
}
