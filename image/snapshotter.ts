/**
 * Snapshotter: every layer unpacked once, in overlay format, into `snapshots/<chainID hex>/`.
 * A snapshot is unpacked into `tmp/` and renamed into place, so its dir exists only when
 * complete. Concurrent `prepare` calls in one process share the in-flight unpack of a layer;
 * between processes the rename decides (the loser discards its copy).
 */
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import type { ContentStore, LayerRef, Snapshotter } from '../ports.js';
import { digestHex } from './digest.js';
import { applyLayer } from './layer-apply.js';
import { storeLayout } from './layout.js';
import type { Digest } from './oci.js';

/**
 * Chain IDs per the OCI image spec: ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: Digest[]): Digest[] {
  const chain: Digest[] = [];
  for (const diffId of diffIds) {
    const parent = chain[chain.length - 1];
    chain.push(parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return chain;
}

/** Snapshotter over the store rooted at `content.root`. */
export class FsSnapshotter implements Snapshotter {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly snapshotsDir: string;
  private readonly tmpDir: string;

  constructor(private readonly content: ContentStore) {
    const layout = storeLayout(content.root);
    this.snapshotsDir = layout.snapshots;
    this.tmpDir = layout.tmp;
  }

  /** Directory of the snapshot with this chain ID (it may not exist yet). */
  snapshotDir(chainId: Digest): string {
    return path.join(this.snapshotsDir, digestHex(chainId));
  }

  async prepare(layers: LayerRef[]): Promise<string[]> {
    const chain = chainIds(layers.map((layer) => layer.diffId));
    // Overlay-format snapshots depend only on their own layer, so they unpack in parallel.
    return Promise.all(layers.map((layer, i) => this.ensure(chain[i] as Digest, layer)));
  }

  private ensure(chainId: Digest, layer: LayerRef): Promise<string> {
    const key = digestHex(chainId);
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.unpackIfMissing(chainId, layer).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async unpackIfMissing(chainId: Digest, layer: LayerRef): Promise<string> {
    const dir = this.snapshotDir(chainId);
    if (await isDir(dir)) return dir;
    if (!(await this.content.has(layer.diffId))) {
      throw new StoreError(`layer ${layer.diffId} is not in the store`, 'BLOB_NOT_FOUND');
    }
    await mkdir(this.tmpDir, { recursive: true });
    const temp = await mkdtemp(path.join(this.tmpDir, 'snapshot-'));
    try {
      // mkdtemp makes 0700; a lowerdir root should look like any image's "/".
      await chmod(temp, 0o755);
      await applyLayer(createReadStream(this.content.blobPath(layer.diffId)), temp, { format: 'overlay', label: `layer ${layer.diffId}` });
      await rename(temp, dir);
    } catch (err) {
      // Another process finished the same snapshot first: theirs is as good as ours.
      if (!isRenameConflict(err) || !(await isDir(dir))) throw err;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return dir;
  }
}

async function isDir(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

function isRenameConflict(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}
