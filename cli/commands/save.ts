/**
 * `tzbuild save IMAGE… -o FILE [--platform P]`: images to one tar that `docker load` and OCI tools
 * read; a multi-platform image with every platform, or only P's image.
 */
import { UserError } from '../../core/errors.js';
import { saveImages } from '../../archive/export.js';
import { parsePlatform } from '../../builder/platform.js';
import { openImageStore, storeRoot } from '../compose.js';

export async function saveCommand(
  images: string[],
  flags: { output?: string; root?: string; platform?: string },
): Promise<void> {
  if (flags.output === undefined) throw new UserError('save: name the archive with -o FILE', 'USAGE');
  const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
  if (flags.platform !== undefined && platform === undefined)
    throw new UserError(`--platform ${flags.platform}: expected os/arch[/variant], e.g. linux/arm64`, 'USAGE');
  await saveImages(await openImageStore(storeRoot(flags.root)), images, flags.output, platform ? { platform } : {});
}
