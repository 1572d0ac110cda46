/**
 * BuildKit's build checks, in the order of its rule list (frontend/dockerfile/linter/ruleset.go):
 * the same names, meanings and messages. A normal build runs these (for its "N warnings" line);
 * the cache advice (cache-rules.ts) only `tzbuild check` loads.
 */
import type { Rule } from './rule.js';
import { consistentInstructionCasing, fromAsCasing, stageNameCasing } from './rules/casing.js';
import { exposeInvalidFormat, exposeProtoCasing } from './rules/expose.js';
import { copyIgnoredFile, workdirRelativePath } from './rules/files.js';
import {
  jsonArgsRecommended,
  legacyKeyValueFormat,
  maintainerDeprecated,
  multipleInstructionsDisallowed,
  noEmptyContinuation,
} from './rules/forms.js';
import {
  fromPlatformFlagConstDisallowed,
  invalidBaseImagePlatform,
  redundantTargetPlatform,
} from './rules/platform.js';
import { duplicateStageName, reservedStageName } from './rules/stage-names.js';
import { invalidDefaultArgInFrom, secretsUsedInArgOrEnv, undefinedArgInFrom, undefinedVar } from './rules/variables.js';

/** Every BuildKit rule tzbuild checks. */
export const buildkitRules: readonly Rule[] = [
  stageNameCasing,
  fromAsCasing,
  noEmptyContinuation,
  consistentInstructionCasing,
  duplicateStageName,
  reservedStageName,
  jsonArgsRecommended,
  maintainerDeprecated,
  undefinedArgInFrom,
  workdirRelativePath,
  undefinedVar,
  multipleInstructionsDisallowed,
  legacyKeyValueFormat,
  invalidBaseImagePlatform,
  redundantTargetPlatform,
  secretsUsedInArgOrEnv,
  invalidDefaultArgInFrom,
  fromPlatformFlagConstDisallowed,
  copyIgnoredFile,
  exposeProtoCasing,
  exposeInvalidFormat,
];
