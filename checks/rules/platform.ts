/**
 * Platform rules (BuildKit): InvalidBaseImagePlatform (needs the base image's config from the
 * store), RedundantTargetPlatform, FromPlatformFlagConstDisallowed.
 */
import { formatPlatform, parsePlatform } from '../../builder/platform.js';
import { expandWord } from '../../builder/shell/index.js';
import type { Rule } from '../rule.js';
import { tryExpand } from '../subject.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** A base image in the store made for another platform than the stage is built for. */
export const invalidBaseImagePlatform: Rule = {
  name: 'InvalidBaseImagePlatform',
  docs: docs('invalid-base-image-platform'),
  description: 'Base image platform does not match expected target platform',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap(({ from, base }) => {
      if (base.kind !== 'image') return [];
      const config = subject.baseImages.get(base.reference);
      if (config?.os === undefined || config.architecture === undefined) return [];
      const written = from.instruction.platform;
      const asked = written === undefined ? undefined : tryExpand(written, subject.fromEnv, subject.escapeToken);
      const expected = asked === undefined ? subject.platform : parsePlatform(asked);
      if (expected === undefined) return [];
      if (expected.os === config.os && expected.architecture === config.architecture) return [];
      const actual = formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant });
      return [
        {
          line: from.instruction.range.startLine,
          message:
            `Base image ${base.reference} was pulled with platform ${JSON.stringify(actual)}, ` +
            `expected ${JSON.stringify(formatPlatform(expected))} for current build`,
        },
      ];
    }),
};

/** `FROM --platform=$TARGETPLATFORM`: the default already. */
export const redundantTargetPlatform: Rule = {
  name: 'RedundantTargetPlatform',
  docs: docs('redundant-target-platform'),
  description: 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap(({ from }) => {
      const written = from.instruction.platform;
      if (written === undefined) return [];
      let expanded: ReturnType<typeof expandWord>;
      try {
        expanded = expandWord(written, subject.fromEnv, { escapeToken: subject.escapeToken });
      } catch {
        return [];
      }
      // Only TARGETPLATFORM substituted, and nothing else in the value: `$TARGETPLATFORM` or `${TARGETPLATFORM}`.
      const onlyTarget = expanded.matched.size === 1 && expanded.matched.has('TARGETPLATFORM');
      if (!onlyTarget || expanded.unmatched.size > 0 || expanded.value !== subject.fromEnv.get('TARGETPLATFORM'))
        return [];
      return [
        {
          line: from.instruction.range.startLine,
          message: `Setting platform to predefined ${written} in FROM is redundant as this is the default behavior`,
        },
      ];
    }),
};

/**
 * `FROM --platform=linux/amd64 …`: pins the stage to one platform whatever the build targets.
 * As in BuildKit, a stage named for its architecture (`AS build_amd64`, picked later by
 * `FROM build_${TARGETARCH}`) is meant that way.
 */
export const fromPlatformFlagConstDisallowed: Rule = {
  name: 'FromPlatformFlagConstDisallowed',
  docs: docs('from-platform-flag-const-disallowed'),
  description: 'FROM --platform flag should not use a constant value',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    subject.stages.flatMap(({ from, name }) => {
      const written = from.instruction.platform;
      if (written === undefined || written.includes('$')) return [];
      const architecture = parsePlatform(written)?.architecture?.toLowerCase();
      if (architecture !== undefined && name?.includes(architecture)) return [];
      return [
        {
          line: from.instruction.range.startLine,
          message: `FROM --platform flag should not use constant value ${JSON.stringify(written)}`,
        },
      ];
    }),
};
