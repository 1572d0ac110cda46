/** Every rule `tzbuild check` runs: BuildKit's build checks, then tzbuild's cache advice. */
import { buildkitRules } from './buildkit-rules.js';
import { cacheRules } from './cache-rules.js';
import type { Rule } from './rule.js';

export const allRules: readonly Rule[] = [...buildkitRules, ...cacheRules];
