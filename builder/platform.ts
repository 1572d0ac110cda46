/** The build and target platform, and the ARGs Docker predefines from them. */
import { hostArchitecture } from '../core/oci.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** This machine's platform, in OCI terms (`linux/amd64`). */
export function defaultPlatform(): PlatformSpec {
  return { os: 'linux', architecture: hostArchitecture() };
}

export function formatPlatform(platform: PlatformSpec): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Parses `linux/amd64[/v8]`; returns undefined when malformed. */
export function parsePlatform(text: string): PlatformSpec | undefined {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) return undefined;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/**
 * BUILDPLATFORM/TARGETPLATFORM and friends. tzbuild builds only for the host platform, so build
 * and target are the same.
 */
export function predefinedArgs(target: PlatformSpec): Record<string, string> {
  const build = defaultPlatform();
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
