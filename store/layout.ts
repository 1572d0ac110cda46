/**
 * The on-disk shape of a store root: an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/`) plus tzbuild's own `snapshots/`, `ingest/`, `tmp/`, `locks/`, `leases/` and
 * `meta/snapshots/` (completion markers). In-flight work of one process lives in `tmp/<owner id>/`
 * (see owner.ts), so recovery knows whose it is.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MediaType } from '../core/oci.js';
import { ownerId } from '../sys/file-lock.js';

/** Absolute paths of the parts of a store root. */
export interface StoreLayout {
  root: string;
  blobs: string;
  index: string;
  snapshots: string;
  ingest: string;
  tmp: string;
  /** Lock files (flock, see flock.ts): `index.json` updates, step keys, snapshot unpacks, GC. */
  locks: string;
  /** `<chain id hex>` marker files: the snapshot of that name was unpacked completely. */
  snapshotMarks: string;
  /** One file per live process: what it uses (see lease.ts). */
  leases: string;
  /** `<id>/`: one per container (containers.ts). */
  containers: string;
}

/** The paths of a store rooted at `root` (nothing is created). */
export function storeLayout(root: string): StoreLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    blobs: path.join(abs, 'blobs', 'sha256'),
    index: path.join(abs, 'index.json'),
    snapshots: path.join(abs, 'snapshots'),
    ingest: path.join(abs, 'ingest'),
    tmp: path.join(abs, 'tmp'),
    locks: path.join(abs, 'locks'),
    snapshotMarks: path.join(abs, 'meta', 'snapshots'),
    leases: path.join(abs, 'leases'),
    containers: path.join(abs, 'containers'),
  };
}

/**
 * Creates the layout's directories and header files when missing; idempotent. Every command
 * opens the store, so these few metadata calls are made directly (synchronously) rather than as
 * a dozen thread-pool round trips.
 */
export async function initStoreLayout(root: string): Promise<StoreLayout> {
  const layout = storeLayout(root);
  mkdirSync(layout.blobs, { recursive: true });
  // Snapshots hold setuid binaries and device nodes from untrusted images: other host users must
  // not reach them (as Docker keeps /var/lib/docker private). tmp/ and ingest/ hold the same in flight.
  for (const dir of [
    layout.snapshots,
    layout.ingest,
    layout.tmp,
    layout.locks,
    layout.snapshotMarks,
    layout.leases,
    layout.containers,
  ]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  writeIfMissing(path.join(layout.root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeIfMissing(layout.index, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
  return layout;
}

function writeIfMissing(file: string, content: string): void {
  if (existsSync(file)) return;
  try {
    // 'wx' so two processes initialising the same root do not clobber each other.
    writeFileSync(file, content, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** This process's scratch dir in the store: `tmp/<owner id>/` (created by `openStore`). */
export function processTmpDir(root: string): string {
  return path.join(storeLayout(root).tmp, ownerId());
}

/**
 * The default store root: `$TZBUILD_ROOT`, else `/var/lib/tzbuild` for root, else
 * `$XDG_DATA_HOME/tzbuild` (`~/.local/share/tzbuild`).
 */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TZBUILD_ROOT) return path.resolve(env.TZBUILD_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/tzbuild';
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'tzbuild');
}
