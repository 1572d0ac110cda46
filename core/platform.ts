/** Platforms (`linux/arm64`) as images and indexes name them: the canonical form and matching. */
import { hostArchitecture } from './oci.js';

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

/** Other spellings of architectures, as containerd's platforms.Normalize takes them. */
const architectureAliases: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};

/**
 * The canonical form of a platform (containerd's rules): lower case, `aarch64` → `arm64`,
 * `arm64/v8` → `arm64` (v8 is the only arm64), `arm` → `arm/v7`, `amd64/v1` → `amd64`.
 */
export function normalizePlatform(platform: PlatformSpec): PlatformSpec {
  const os = platform.os.toLowerCase();
  const raw = platform.architecture.toLowerCase();
  const architecture = architectureAliases[raw] ?? raw;
  let variant = platform.variant?.toLowerCase();
  if (raw === 'armel') variant ??= 'v6';
  if (variant !== undefined && /^\d$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm64' && (variant === 'v8' || variant === '')) variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  if (architecture === 'arm') variant ||= 'v7';
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Equal once normalised. */
export function samePlatform(a: PlatformSpec, b: PlatformSpec): boolean {
  return formatPlatform(normalizePlatform(a)) === formatPlatform(normalizePlatform(b));
}

/** The platform an image config declares (undefined when it names no os or architecture). */
export function configPlatform(config: {
  os?: string;
  architecture?: string;
  variant?: string;
}): PlatformSpec | undefined {
  const { os, architecture, variant } = config;
  if (!os || !architecture) return undefined;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/**
 * Whether an image of `offered` serves `wanted`: equal once normalised, or `offered` names no
 * variant and the os and architecture agree (arm images often leave the variant out).
 */
export function platformServes(offered: PlatformSpec, wanted: PlatformSpec): boolean {
  if (samePlatform(offered, wanted)) return true;
  if (offered.variant !== undefined) return false;
  const a = normalizePlatform(offered);
  const b = normalizePlatform(wanted);
  return a.os === b.os && a.architecture === b.architecture;
}
