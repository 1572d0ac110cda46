/** The build and target platforms, and the ARGs Docker predefines from them. */
import {
  defaultPlatform,
  formatPlatform,
  normalizePlatform,
  samePlatform,
  type PlatformSpec,
} from '../core/platform.js';

// The builder's modules and the CLI take these from here, beside the parsers below.
export { defaultPlatform, formatPlatform, normalizePlatform, samePlatform, type PlatformSpec };

/** Parses `linux/amd64[/v8]` (normalised); returns undefined when malformed. */
export function parsePlatform(text: string): PlatformSpec | undefined {
  const parts = text.trim().split('/');
  const [os, architecture, variant] = parts;
  if (parts.length > 3 || !os || !architecture || /\s/.test(text.trim())) return undefined;
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/**
 * `--platform` as buildx takes it: one platform or a comma list (repeats dropped, order kept).
 * Throws a message for the first entry that is not `os/arch[/variant]`.
 */
export function parsePlatformList(text: string): PlatformSpec[] {
  const platforms: PlatformSpec[] = [];
  for (const item of text.split(',')) {
    const platform = parsePlatform(item);
    if (platform === undefined)
      throw new Error(`invalid platform ${JSON.stringify(item.trim())} (expected os/arch[/variant], e.g. linux/arm64)`);
    if (!platforms.some((seen) => samePlatform(seen, platform))) platforms.push(platform);
  }
  return platforms;
}

/**
 * BUILDPLATFORM/TARGETPLATFORM and friends: `build` is where the steps run natively (this
 * machine), `target` the platform the image is for.
 */
export function predefinedArgs(target: PlatformSpec, build: PlatformSpec = defaultPlatform()): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
  };
}

/** Proxy args usable in RUN without an ARG line, and kept out of history and cache keys (as Docker). */
export const proxyArgs = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);
