/**
 * A command's registry settings: the store's config.json (Docker daemon.json's
 * `registry-mirrors`, `insecure-registries`, and `hub-fallback`), `TZBUILD_REGISTRY_MIRRORS`
 * (comma-separated; replaces the mirrors for one command) and `--insecure-registry` flags.
 */
import { parseMirror, type RegistrySettings } from '../registry/endpoints.js';
import { readStoreConfig } from '../store/store-config.js';

/** The settings for a command on the store at `root`; a malformed mirror is a UserError naming where it came from. */
export async function registrySettings(
  root: string,
  insecureFlags: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistrySettings> {
  const config = await readStoreConfig(root);
  const fromEnv = env.TZBUILD_REGISTRY_MIRRORS;
  const mirrors =
    fromEnv !== undefined
      ? fromEnv
          .split(',')
          .map((url) => url.trim())
          .filter((url) => url !== '')
      : (config['registry-mirrors'] ?? []);
  const origin = fromEnv !== undefined ? 'TZBUILD_REGISTRY_MIRRORS' : `${root}/config.json`;
  for (const url of mirrors) parseMirror(url, origin);
  return {
    mirrors,
    insecure: [...(config['insecure-registries'] ?? []), ...insecureFlags],
    hubFallback: config['hub-fallback'] ?? true,
  };
}
