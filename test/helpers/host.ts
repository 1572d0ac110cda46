/**
 * Honest gating of privileged tests: a test may be skipped where the host cannot mount overlayfs
 * in a new namespace, but under `CI` that is a failure, never a silent skip.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

let probe: Promise<string | undefined> | undefined;

/** Why privileged tests cannot run here, or undefined when they can (checked once). */
export function privilegedUnavailable(): Promise<string | undefined> {
  probe ??= probeOverlay();
  return probe;
}

/**
 * True when privileged tests should run; false to skip them. Throws under `CI` when the host
 * cannot run them, so a CI job never passes by skipping.
 */
export async function canRunPrivileged(): Promise<boolean> {
  const reason = await privilegedUnavailable();
  if (reason === undefined) return true;
  if (process.env.CI) throw new Error(`privileged tests cannot run on this CI host: ${reason}`);
  return false;
}

async function probeOverlay(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tzbuild-probe-'));
  try {
    for (const sub of ['l', 'u', 'w', 'm']) await mkdir(path.join(dir, sub));
    const options = `lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w`;
    const script = `mount -t overlay overlay -o "${options}" "${dir}/m"`;
    const result = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      reject: false,
    });
    return result.exitCode === 0 ? undefined : `cannot mount overlayfs: ${result.stderr.trim()}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
