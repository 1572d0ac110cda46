/**
 * TagStore over the layout's `index.json`.
 *
 * Naming choice: the OCI spec suggests `org.opencontainers.image.ref.name` hold only the tag
 * (`1`), but then `app:1` and `web:1` could not share one layout. We store the full normalised
 * name (`app:1`, `localhost:5000/x/y:tag`) so the index alone lists every image; skopeo/umoci read
 * it as `oci:ROOT:app:1`.
 *
 * Updates take a flock on `index.json.lock` (released by the kernel if the holder dies), write a
 * temp file, fsync it and rename it over `index.json`, so readers never see a torn index and two
 * processes never lose an update.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, rm, writeFile, open } from 'node:fs/promises';
import { StoreError } from '../core/errors.js';
import type { TagStore } from '../core/ports.js';
import { ownerId, withFileLock } from '../sys/file-lock.js';
import { initStoreLayout, storeLayout } from './layout.js';
import { isDigest, MediaType, RefNameAnnotation, type Descriptor, type ImageIndex } from '../core/oci.js';

/**
 * Normalises an image name: adds `:latest` when there is neither a tag nor a digest, and refuses
 * names that are empty or contain whitespace or control characters.
 */
export function normalizeName(name: string): string {
  if (name === '' || /[\s\u0000-\u001f]/.test(name)) {
    throw new StoreError(`invalid image name: ${JSON.stringify(name)}`, 'BAD_NAME');
  }
  if (name.includes('@')) return name;
  const lastSlash = name.lastIndexOf('/');
  // A colon after the last slash is a tag; one before it is a registry port.
  return name.indexOf(':', lastSlash + 1) === -1 ? `${name}:latest` : name;
}

/** TagStore backed by the index.json of the store rooted at `root`. */
export class IndexTagStore implements TagStore {
  private readonly indexPath: string;

  constructor(root: string) {
    this.indexPath = storeLayout(root).index;
  }

  /** Opens the tag store of `root`, creating the layout when missing. */
  static async open(root: string): Promise<IndexTagStore> {
    await initStoreLayout(root);
    return new IndexTagStore(root);
  }

  async resolve(name: string): Promise<Descriptor | undefined> {
    const wanted = normalizeName(name);
    const index = await this.read();
    return index.manifests.find((entry) => entry.annotations?.[RefNameAnnotation] === wanted);
  }

  async set(name: string, manifest: Descriptor): Promise<void> {
    const full = normalizeName(name);
    if (!isDigest(manifest.digest)) throw new StoreError(`malformed digest: ${manifest.digest}`, 'BAD_DIGEST');
    const tagged: Descriptor = { ...manifest, annotations: { ...manifest.annotations, [RefNameAnnotation]: full } };
    // A rebuild usually re-tags the same image: then there is nothing to write, and no lock to
    // take (a lock is a process spawn). Reading without the lock is safe: writers rename whole files.
    const current = (await this.read()).manifests.find((entry) => entry.annotations?.[RefNameAnnotation] === full);
    if (current !== undefined && JSON.stringify(current) === JSON.stringify(tagged)) return;
    await this.update((manifests) => [
      ...manifests.filter((entry) => entry.annotations?.[RefNameAnnotation] !== full),
      tagged,
    ]);
  }

  async remove(name: string): Promise<boolean> {
    const full = normalizeName(name);
    let removed = false;
    await this.update((manifests) => {
      const kept = manifests.filter((entry) => entry.annotations?.[RefNameAnnotation] !== full);
      removed = kept.length !== manifests.length;
      return kept;
    });
    return removed;
  }

  async list(): Promise<{ name: string; manifest: Descriptor }[]> {
    const index = await this.read();
    const named: { name: string; manifest: Descriptor }[] = [];
    for (const entry of index.manifests) {
      const name = entry.annotations?.[RefNameAnnotation];
      if (name !== undefined) named.push({ name, manifest: entry });
    }
    return named;
  }

  private async read(): Promise<ImageIndex> {
    let text: string;
    try {
      // Small, read by every command: directly rather than through the thread pool.
      text = readFileSync(this.indexPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
      throw err;
    }
    try {
      const index = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new Error('no manifests array');
      return index;
    } catch (err) {
      throw new StoreError(`${this.indexPath}: corrupt image index`, 'BAD_INDEX', { cause: err });
    }
  }

  /** Read-modify-write of the index under the lock. */
  private async update(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await withFileLock(`${this.indexPath}.lock`, async () => {
      const index = await this.read();
      const next: ImageIndex = { ...index, manifests: change(index.manifests) };
      // Named after its owner: recovery deletes the temp of a writer killed mid-update.
      const temp = `${this.indexPath}.${ownerId()}-${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`, { flag: 'wx' });
        const handle = await open(temp, 'r');
        await handle.sync().finally(() => handle.close());
        await rename(temp, this.indexPath);
      } catch (err) {
        await rm(temp, { force: true });
        throw writeFailure(err, this.indexPath);
      }
    });
  }
}

/**
 * A full disk or failing device as one clear line (io-errors.ts does this for the rest of the
 * store; this module keeps its imports minimal because test/unit/store/tag-store-processes.test.ts
 * transpiles it on its own).
 */
function writeFailure(err: unknown, indexPath: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EIO') return err;
  const what = (err as Error).message.replace(/^E[A-Z]+: /, '').replace(/,.*$/, '');
  return new StoreError(`${what} while updating ${indexPath}`, code === 'EIO' ? 'STORE_IO' : 'STORE_FULL', {
    cause: err,
  });
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}
