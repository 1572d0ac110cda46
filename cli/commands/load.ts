/**
 * `tzbuild load FILE` / `load -i FILE`: import a docker-archive or OCI archive tar; a multi-platform
 * image whole, or with `--platform` that platform's image alone.
 */
import { UserError } from '../../core/errors.js';
import { loadArchive } from '../../archive/archive.js';
import { parsePlatform } from '../../builder/platform.js';
import { openImageStore, storeRoot } from '../compose.js';

export async function loadCommand(
  file: string | undefined,
  flags: { input?: string; root?: string; platform?: string },
): Promise<void> {
  const path = flags.input ?? file;
  if (path === undefined) throw new UserError('load: name the archive (tzbuild load FILE or -i FILE)', 'USAGE');
  const platform = flags.platform === undefined ? undefined : parsePlatform(flags.platform);
  if (flags.platform !== undefined && platform === undefined)
    throw new UserError(`--platform ${flags.platform}: expected os/arch[/variant], e.g. linux/arm64`, 'USAGE');
  const store = await openImageStore(storeRoot(flags.root));
  for (const name of await loadArchive(store, path, platform ? { platform } : {}))
    process.stdout.write(`Loaded image: ${name}\n`);
}
