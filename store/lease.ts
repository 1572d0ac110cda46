/**
 * Leases: what a running tzbuild process is using, so `prune` and the automatic GC never delete it.
 * Each process that opens a store writes `leases/<owner id>` (see owner.ts), one line per thing it
 * uses: `blob <digest>` (written or about to be read), `snapshot <chain id hex>` (prepared, maybe
 * mounted), `record <cache key>` (a cache hit). The file is removed when the process exits; a
 * lease whose owner died is ignored and deleted by recovery.
 *
 * The lease line is written before the thing is used (a blob before it is renamed into place,
 * a layer before a hit is trusted); GC moves what it deletes aside first and re-reads the leases
 * before the final delete, so a use that raced with the sweep either keeps the thing or sees it
 * gone (and rebuilds it), never half of each. See gc.ts.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { storeWriteError } from '../sys/io-errors.js';
import { isOwnerAlive, ownerId } from '../sys/file-lock.js';

/** What a lease line names. */
export type LeaseKind = 'blob' | 'snapshot' | 'record';

/** Everything the live processes on a store are using. */
export interface LiveLeases {
  owners: string[];
  blobs: Set<string>;
  snapshots: Set<string>;
  records: Set<string>;
}

/** The directory of a store's lease files. */
export function leasesDir(root: string): string {
  return path.join(path.resolve(root), 'leases');
}

/** This process's lease on one store. Get it with {@link processLease}. */
export class Lease {
  private readonly seen = new Set<string>();
  /** The lease file, opened for appending on first use and kept open. */
  private fd: number | undefined;
  readonly file: string;

  constructor(root: string) {
    this.file = path.join(leasesDir(root), ownerId());
  }

  /** Records that this process uses `id`; resolves once the line is on disk. */
  add(kind: LeaseKind, id: string): Promise<void> {
    const line = `${kind} ${id}`;
    if (this.seen.has(line)) return Promise.resolve();
    this.seen.add(line);
    return this.write(`${line}\n`);
  }

  /** Creates the (possibly empty) lease file: the process counts as a live user of the store. */
  open(): Promise<void> {
    return this.write('');
  }

  /**
   * Appends synchronously to the file we keep open: a line costs one short write, where an async
   * mkdir + open + append + close cost four thread-pool round trips, twice per cached step. Being
   * synchronous, lines never interleave and each is on disk before `add` returns.
   */
  private write(text: string): Promise<void> {
    try {
      if (this.fd === undefined) {
        mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        this.fd = openSync(this.file, 'a');
      }
      if (text !== '') writeSync(this.fd, text);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(storeWriteError(err, `writing the lease ${this.file}`));
    }
  }
}

const leases = new Map<string, Lease>();

/** The lease of this process on the store at `root` (one per root, removed at exit). */
export function processLease(root: string): Lease {
  const key = path.resolve(root);
  let lease = leases.get(key);
  if (lease === undefined) {
    lease = new Lease(key);
    leases.set(key, lease);
    if (leases.size === 1) process.once('exit', dropLeases);
  }
  return lease;
}

function dropLeases(): void {
  for (const lease of leases.values()) {
    try {
      unlinkSync(lease.file);
    } catch {
      // Never written, or already gone.
    }
  }
}

/** Options for {@link readLiveLeases}. */
export interface ReadLeasesOptions {
  /** Delete the lease files of dead owners. */
  removeDead?: boolean;
  /** Leave this process's own lease out (a GC must not protect things from itself). */
  excludeSelf?: boolean;
}

/** Reads the leases of live owners. */
export async function readLiveLeases(root: string, options: ReadLeasesOptions = {}): Promise<LiveLeases> {
  const live: LiveLeases = { owners: [], blobs: new Set(), snapshots: new Set(), records: new Set() };
  const dir = leasesDir(root);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (options.excludeSelf && name === ownerId()) continue;
    if (!isOwnerAlive(name)) {
      if (options.removeDead) await rm(path.join(dir, name), { force: true });
      continue;
    }
    live.owners.push(name);
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const [kind, id] = line.split(' ');
      if (id === undefined) continue;
      if (kind === 'blob') live.blobs.add(id);
      else if (kind === 'snapshot') live.snapshots.add(id);
      else if (kind === 'record') live.records.add(id);
    }
  }
  return live;
}

/** True when a live process other than this one has the store open. */
export async function otherLiveOwners(root: string): Promise<boolean> {
  const live = await readLiveLeases(root);
  return live.owners.some((owner) => owner !== ownerId());
}
