/**
 * The private scratch dir of one OCI step: the namespace runner's sandbox (merged mountpoint, init
 * layer, generated /etc files, lowerdir links) plus an OCI bundle (`config.json`), the runtime's
 * state dir (`--root`) and a small extra layer of mountpoints the runtime needs (`/sys`).
 *
 * Layout: `<tmpRoot>/tzbuild-oci-XXXX/{bundle/config.json, state/, step.pid, mountpoints/sys,
 * tzbuild-run-XXXX/…}`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { RunSpec } from '../../core/ports.js';
import {
  createSandboxDir,
  removeSandboxDir,
  rmdirIfPresent,
  unlinkIfPresent,
  type SandboxDir,
} from '../sandbox-dir.js';
import { inUserNamespace } from '../../sys/userns.js';
import { buildOciSpec, EXTRA_MOUNTPOINTS, type OciSpecOptions } from './oci-spec.js';

/** Paths of one step's scratch dir. */
export interface OciScratch {
  root: string;
  bundle: string;
  /** The runtime's `--root`: its state for this one container. */
  state: string;
  /** Where the runtime writes the container init's host pid. */
  pidFile: string;
  /** The extra mountpoint layer, stacked under the sandbox's init layer. */
  mountpoints: string;
  sandbox: SandboxDir;
}

/**
 * Creates the scratch dir and writes the bundle's config.json for `spec`. Synchronous calls, as
 * in sandbox-dir.ts: tiny metadata operations, each far cheaper than a promise round trip.
 */
export async function createOciScratch(tmpRoot: string, spec: RunSpec, options: OciSpecOptions): Promise<OciScratch> {
  const root = mkdtempSync(path.join(tmpRoot, 'tzbuild-oci-'));
  const partial = { root, bundle: path.join(root, 'bundle'), state: path.join(root, 'state') };
  const mountpoints = path.join(root, 'mountpoints');
  try {
    mkdirSync(partial.bundle);
    mkdirSync(partial.state, { mode: 0o700 });
    mkdirSync(mountpoints, { mode: 0o755 });
    for (const name of EXTRA_MOUNTPOINTS) mkdirSync(path.join(mountpoints, name), { mode: 0o755 });
    // The mountpoint layer sits above the image and below the sandbox's init layer.
    const sandbox = await createSandboxDir(root, options.hostname, [...spec.lowerdirs, mountpoints], spec.mounts);
    const scratch: OciScratch = { ...partial, pidFile: path.join(root, 'step.pid'), mountpoints, sandbox };
    const etcDir = hasInitEtc(sandbox) ? sandbox.etc : undefined;
    const paths = { rootfs: sandbox.merged, etcDir, stepMounts: sandbox.mounts.mounts };
    const config = buildOciSpec(spec, paths, {
      ...options,
      maxOpenFiles: kernelMaxOpenFiles(),
      rootless: inUserNamespace(),
    });
    writeFileSync(path.join(scratch.bundle, 'config.json'), JSON.stringify(config));
    return scratch;
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Removes the scratch dir. The sandbox goes entry by entry (never recursively: its `merged` is a
 * mountpoint inside the step's namespace); the bundle and state hold only runtime files. On the
 * thread pool: it runs while the build moves on (RunSpec.tidy).
 */
export async function removeOciScratch(scratch: OciScratch): Promise<void> {
  await Promise.all([
    removeSandboxDir(scratch.sandbox),
    rm(scratch.state, { recursive: true, force: true }),
    unlinkIfPresent(path.join(scratch.bundle, 'config.json')),
    unlinkIfPresent(scratch.pidFile),
    ...EXTRA_MOUNTPOINTS.map((name) => rmdirIfPresent(path.join(scratch.mountpoints, name))),
  ]);
  await Promise.all([scratch.mountpoints, scratch.bundle].map(rmdirIfPresent));
  await rmdirIfPresent(scratch.root);
}

/** True when the sandbox made /etc files (the image's /etc is a dir or absent, not a symlink). */
function hasInitEtc(sandbox: SandboxDir): boolean {
  try {
    readFileSync(path.join(sandbox.init, 'etc', 'hosts'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Our own hard RLIMIT_NOFILE: the runtime cannot raise the step's above it (without
 * CAP_SYS_RESOURCE, which a sandboxed build host may not grant even to root).
 */
let maxOpenFiles: number | undefined | null = null;

function kernelMaxOpenFiles(): number | undefined {
  if (maxOpenFiles !== null) return maxOpenFiles;
  let text = '';
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    // Not Linux: no limit to pass on.
  }
  const line = text.split('\n').find((entry) => entry.startsWith('Max open files'));
  const hard = Number.parseInt(line?.slice('Max open files'.length).trim().split(/\s+/)[1] ?? '', 10);
  maxOpenFiles = Number.isFinite(hard) ? hard : undefined;
  return maxOpenFiles;
}
