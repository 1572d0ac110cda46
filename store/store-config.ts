/**
 * The store's optional settings file, `config.json` at its root, read and checked once per
 * command: `gc.keepStorage` (the automatic GC), and Docker daemon.json's registry keys
 * (`registry-mirrors`, `insecure-registries`) plus `hub-fallback`. A malformed file is a
 * UserError naming it; unknown keys are left alone (a newer tzbuild may have written them).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';

/** What config.json may hold, checked. */
export interface StoreConfig {
  gc?: { keepStorage?: string | number };
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
  'hub-fallback'?: boolean;
}

/** The store's config.json, checked; `{}` when there is none. */
export async function readStoreConfig(root: string): Promise<StoreConfig> {
  const file = path.join(root, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${file}: not valid JSON`, 'BAD_CONFIG');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${file}: must hold a JSON object`, 'BAD_CONFIG');
  }
  const config = value as Record<string, unknown>;
  for (const key of ['registry-mirrors', 'insecure-registries']) {
    const list = config[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((item) => typeof item === 'string'))) {
      throw new UserError(`${file}: "${key}" must be a list of strings`, 'BAD_CONFIG');
    }
  }
  if (config['hub-fallback'] !== undefined && typeof config['hub-fallback'] !== 'boolean') {
    throw new UserError(`${file}: "hub-fallback" must be true or false`, 'BAD_CONFIG');
  }
  const gc = config.gc;
  if (gc !== undefined && (gc === null || typeof gc !== 'object' || Array.isArray(gc))) {
    throw new UserError(`${file}: "gc" must be an object`, 'BAD_CONFIG');
  }
  return config as StoreConfig;
}
