/** `tzbuild load FILE` / `load -i FILE`: import a docker-archive or OCI archive tar. */
import { UserError } from '../../core/errors.js';
import { loadArchive } from '../../archive/archive.js';
import { openImageStore, storeRoot } from '../compose.js';

export async function loadCommand(file: string | undefined, flags: { input?: string; root?: string }): Promise<void> {
  const path = flags.input ?? file;
  if (path === undefined) throw new UserError('load: name the archive (tzbuild load FILE or -i FILE)', 'USAGE');
  const store = await openImageStore(storeRoot(flags.root));
  for (const name of await loadArchive(store, path)) process.stdout.write(`Loaded image: ${name}\n`);
}
