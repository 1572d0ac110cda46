/**
 * tzbuild's cache advice: rules no linter has, because they read the store's history of this
 * Dockerfile's builds (which steps missed the cache, and why). Each falls back to a static form of
 * its advice when the history is too short. Loaded only by `tzbuild check` (and `build --check`).
 */
import { argBustsRunCache } from './advice/arg-busts.js';
import { unignoredChangingFiles } from './advice/changing-files.js';
import { dependencyInstallAfterContextCopy } from './advice/install-after-copy.js';
import type { Rule } from './rule.js';

/** Every cache advice rule. */
export const cacheRules: readonly Rule[] = [
  dependencyInstallAfterContextCopy,
  argBustsRunCache,
  unignoredChangingFiles,
];
