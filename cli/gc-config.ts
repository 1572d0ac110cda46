/**
 * The automatic GC's settings, apart from the GC itself: a build asks whether a size is configured
 * without loading the pruning code (most stores configure none).
 */
import { UserError } from '../core/errors.js';
import { readStoreConfig } from '../store/store-config.js';

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `10GB`, `512MiB`, `1.5g`, `1000` → bytes. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const scale = match === null ? undefined : sizeUnits[(match[2] ?? '').toLowerCase()];
  if (match === null || scale === undefined)
    throw new UserError(`invalid size "${text}" (use e.g. 10GB, 512MB, 1GiB)`, 'USAGE');
  return Math.floor(Number(match[1]) * scale);
}

/** The automatic GC's size limit: `TZBUILD_GC_KEEP`, else `config.json` `{"gc":{"keepStorage":"10GB"}}`. */
export async function configuredKeep(root: string, env: NodeJS.ProcessEnv): Promise<number | undefined> {
  if (env.TZBUILD_GC_KEEP) return parseSize(env.TZBUILD_GC_KEEP);
  const keep = (await readStoreConfig(root)).gc?.keepStorage;
  return keep === undefined ? undefined : parseSize(String(keep));
}
