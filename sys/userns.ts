/**
 * Whether this process runs inside a user namespace (tzbuild's rootless mode, cli/rootless.ts):
 * there it is uid 0 with full capabilities over its own namespaces, but not over the host, which
 * changes what the runners may do (no `trusted.*` xattrs, so overlay needs `userxattr`).
 */
import { readFileSync } from 'node:fs';

/** The identity map of the host's initial user namespace. */
const HOST_UID_MAP = ['0', '0', '4294967295'];

let cached: boolean | undefined;

/** True when uid 0 here is not the host's root (any uid_map other than the identity map). */
export function inUserNamespace(): boolean {
  cached ??= isMappedUidMap(readUidMap());
  return cached;
}

/** Pure check of a `/proc/PID/uid_map` text; exported for tests. */
export function isMappedUidMap(text: string): boolean {
  const lines = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
  if (lines.length !== 1) return true;
  return lines[0]!.join(' ') !== HOST_UID_MAP.join(' ');
}

/** True when we may mount overlayfs and create namespaces: host root, or root of our own userns. */
export function canMountAsRoot(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

function readUidMap(): string {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    // No /proc: assume the host namespace, the historical behaviour.
    return HOST_UID_MAP.join(' ');
  }
}

/**
 * The xattr namespace overlayfs uses for its markers (opaque dirs) here: `trusted.overlay.` on the
 * host, `user.overlay.` in a user namespace, where overlay is mounted with `userxattr`.
 */
export function overlayXattrPrefix(userns = inUserNamespace()): string {
  return userns ? 'user.overlay.' : 'trusted.overlay.';
}
