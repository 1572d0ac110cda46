/**
 * Snapshotter: every layer unpacked once, in overlay format, into `snapshots/<chainID hex>/`.
 *
 * Across processes: an unpack holds the flock `locks/snapshot-<hex>` (a second build waits and then
 * finds it done), unpacks into its own `tmp/<owner>-snapshot-…`, renames the dir into place and only then
 * writes the completion marker `meta/snapshots/<hex>`. A snapshot dir without a marker is the
 * leftover of a crash between rename and marker (or of an older tzbuild): under the lock it is
 * moved aside and unpacked again. In one process, concurrent `prepare` calls share the in-flight
 * unpack. Every snapshot and layer prepared is leased (lease.ts) before it is checked. The small
 * metadata calls (stat, mkdir, rename, the marker) are synchronous: each costs far less than a
 * thread-pool round trip, and the first RUN after a COPY waits for them.
 */
import {
  chmodSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { removeTree, removeTreeSync } from '../sys/remove-tree.js';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { StoreError } from '../core/errors.js';
import type { ContentStore, ExistingSnapshot, ImageView, LayerRef, MountedView, Snapshotter } from '../core/ports.js';
import { digestHex } from '../core/digest.js';
import { ownerId, withLock } from '../sys/file-lock.js';
import { storeWriteError } from '../sys/io-errors.js';
import { processTmpDir, storeLayout, type StoreLayout } from './layout.js';
import { layeredView, mountView } from './snapshot-views.js';
import { processLease } from './lease.js';
import { clearOverlayBookkeeping } from '../layers/upperdir.js';
import { markLayerFrozen } from '../layers/layered-read.js';
import type { Digest } from '../core/oci.js';

/**
 * Chain IDs per the OCI image spec: ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: Digest[]): Digest[] {
  const chain: Digest[] = [];
  for (const diffId of diffIds) {
    const parent = chain[chain.length - 1];
    chain.push(parent === undefined ? diffId : chainStep(parent, diffId));
  }
  return chain;
}

/** Every step of a build asks for the chain of all its layers: each link is hashed once. */
const chainSteps = new Map<string, Digest>();

function chainStep(parent: Digest, diffId: Digest): Digest {
  const input = `${parent} ${diffId}`;
  let chainId = chainSteps.get(input);
  if (chainId === undefined) {
    chainId = `sha256:${createHash('sha256').update(input).digest('hex')}`;
    chainSteps.set(input, chainId);
  }
  return chainId;
}

/** Whether the snapshot `hex` was unpacked completely (its dir and its marker exist). */
export async function snapshotComplete(layout: StoreLayout, hex: string): Promise<boolean> {
  return isDir(path.join(layout.snapshots, hex)) && exists(path.join(layout.snapshotMarks, hex));
}

/** Layers up to this size are unpacked from one read of the blob. */
const SMALL_LAYER_BYTES = 1 << 20;

/** Snapshotter over the store rooted at `content.root`. */
export class FsSnapshotter implements Snapshotter {
  private readonly inFlight = new Map<string, Promise<string>>();
  /**
   * Snapshots this process found or made complete: they stay so while it lives (it leases them,
   * and GC leaves leased snapshots alone), so every later step need not stat them again.
   */
  private readonly known = new Set<string>();
  private readonly layout: StoreLayout;

  constructor(private readonly content: ContentStore) {
    this.layout = storeLayout(content.root);
  }

  /** Directory of the snapshot with this chain ID (it may not exist yet). */
  snapshotDir(chainId: Digest): string {
    return path.join(this.layout.snapshots, digestHex(chainId));
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
      pending = this.ensureLeased(key, layer).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async ensureLeased(hex: string, layer: LayerRef): Promise<string> {
    await processLease(this.content.root).add('snapshot', hex);
    const dir = path.join(this.layout.snapshots, hex);
    if (await this.isComplete(hex)) return dir;
    return withLock(path.join(this.layout.locks, `snapshot-${hex}`), async () => {
      // Whoever held the lock before us may have finished it.
      if (await this.isComplete(hex)) return dir;
      if (!(await this.content.has(layer.diffId))) {
        throw new StoreError(`layer ${layer.diffId} is not in the store`, 'BLOB_NOT_FOUND');
      }
      await discardIncomplete(dir, this.layout.tmp);
      await this.unpack(dir, layer);
      await markComplete(this.layout, hex, layer.diffId);
      this.noteComplete(hex);
      return dir;
    });
  }

  /** Whether the snapshot is complete; asks the disk only until it is. */
  private async isComplete(hex: string): Promise<boolean> {
    if (this.known.has(hex)) return true;
    const complete = await snapshotComplete(this.layout, hex);
    if (complete) this.noteComplete(hex);
    return complete;
  }

  private noteComplete(hex: string): void {
    this.known.add(hex);
    markLayerFrozen(path.join(this.layout.snapshots, hex));
  }

  async view(layers: LayerRef[]): Promise<ImageView> {
    return layeredView(await this.prepare(layers));
  }

  /** The view's mount dir is in this process's scratch dir, so recovery knows whose it is. */
  async mount(layers: LayerRef[]): Promise<MountedView> {
    return mountView(await this.prepare(layers), processTmpDir(this.layout.root));
  }

  async adopt(
    layers: LayerRef[],
    dir: string,
    from: 'upperdir' | 'unpacked' = 'upperdir',
    files?: string,
  ): Promise<boolean> {
    const top = layers[layers.length - 1];
    const chainId = chainIds(layers.map((layer) => layer.diffId)).pop();
    if (top === undefined || chainId === undefined) return false;
    const hex = digestHex(chainId);
    await processLease(this.content.root).add('snapshot', hex);
    if (this.inFlight.has(hex) || (await this.isComplete(hex))) return false;
    return withLock(path.join(this.layout.locks, `snapshot-${hex}`), async () => {
      if (await this.isComplete(hex)) return false;
      const target = path.join(this.layout.snapshots, hex);
      try {
        // An upperdir carries overlay's copy-up records; a same-pass unpack has none to clear.
        if (from === 'upperdir') clearOverlayBookkeeping(dir);
        // As unpack makes it: a lowerdir root should look like any image's "/".
        chmodSync(dir, 0o755);
        await discardIncomplete(target, this.layout.tmp);
        renameSync(dir, target);
      } catch (err) {
        throw storeWriteError(err, `keeping the layer ${top.diffId} as a snapshot in ${this.layout.snapshots}`);
      }
      await markComplete(this.layout, hex, top.diffId, files);
      this.noteComplete(hex);
      return true;
    });
  }

  async existing(layers: LayerRef[]): Promise<ExistingSnapshot | undefined> {
    const chainId = chainIds(layers.map((layer) => layer.diffId)).pop();
    if (chainId === undefined) return undefined;
    const hex = digestHex(chainId);
    // Leased before it is checked: GC cannot take it between the check and its use.
    await processLease(this.content.root).add('snapshot', hex);
    if (!(await this.isComplete(hex))) return undefined;
    const dir = path.join(this.layout.snapshots, hex);
    const marker = readFileSync(path.join(this.layout.snapshotMarks, hex), 'utf8');
    const files = marker.slice(marker.indexOf('\n') + 1);
    return files === '' ? { dir } : { dir, files };
  }

  private async unpack(dir: string, layer: LayerRef): Promise<void> {
    mkdirSync(this.layout.tmp, { recursive: true, mode: 0o700 });
    // Owner-prefixed, so recovery removes it if we are killed half-way.
    const temp = mkdtempSync(path.join(this.layout.tmp, `${ownerId()}-snapshot-`));
    try {
      // mkdtemp makes 0700; a lowerdir root should look like any image's "/".
      chmodSync(temp, 0o755);
      // The unpacker (tar reader, decompressors, node creation) loads only when a layer is unpacked.
      const { applyLayer } = await import('../layers/layer-apply.js');
      // A small layer (a COPY of a few files, a WORKDIR) is read in one call rather than streamed.
      const blob = this.content.blobPath(layer.diffId);
      const tar = layer.size <= SMALL_LAYER_BYTES ? oneChunk(readFileSync(blob)) : createReadStream(blob);
      await applyLayer(tar, temp, { format: 'overlay', fresh: true, label: `layer ${layer.diffId}` });
      renameSync(temp, dir);
    } catch (err) {
      // Another process (an older tzbuild without the lock) finished the same snapshot first.
      if (isRenameConflict(err) && isDir(dir)) return;
      throw storeWriteError(err, `unpacking layer ${layer.diffId} into ${this.layout.snapshots}`);
    } finally {
      removeTreeSync(temp);
    }
  }
}

async function* oneChunk(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** Moves a marker-less snapshot dir aside (so no one picks it up half-deleted), then deletes it. */
async function discardIncomplete(dir: string, tmp: string): Promise<void> {
  if (!isDir(dir)) return;
  const aside = path.join(tmp, `${ownerId()}-discard-${randomBytes(6).toString('hex')}`);
  renameSync(dir, aside);
  await removeTree(aside);
}

/**
 * The marker holds the layer's diff ID and, for a snapshot the layer writer made, its file list
 * (a line per small file: layers/earlier-files.ts); it goes with the snapshot (GC, recovery).
 */
async function markComplete(layout: StoreLayout, hex: string, diffId: Digest, files = ''): Promise<void> {
  const marker = path.join(layout.snapshotMarks, hex);
  const temp = `${marker}.${ownerId()}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(layout.snapshotMarks, { recursive: true });
    writeFileSync(temp, `${diffId}\n${files}`);
    renameSync(temp, marker);
  } catch (err) {
    rmSync(temp, { force: true });
    throw storeWriteError(err, `marking snapshot ${hex} complete`);
  }
}

function isDir(dir: string): boolean {
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function exists(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false }) !== undefined;
}

function isRenameConflict(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}
