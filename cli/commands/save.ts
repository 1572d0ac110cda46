/** `tzbuild save IMAGE… -o FILE`: images to one tar that `docker load` and OCI tools read. */
import { UserError } from '../../core/errors.js';
import { saveImages } from '../../archive/export.js';
import { openImageStore, storeRoot } from '../compose.js';

export async function saveCommand(images: string[], flags: { output?: string; root?: string }): Promise<void> {
  if (flags.output === undefined) throw new UserError('save: name the archive with -o FILE', 'USAGE');
  await saveImages(await openImageStore(storeRoot(flags.root)), images, flags.output);
}
