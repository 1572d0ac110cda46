/**
 * A cache in an OCI image layout directory (`type=local,dest=DIR` / `src=DIR`): `oci-layout`,
 * `index.json` naming the cache manifest (ref name `latest`), `blobs/sha256/<hex>`. Blobs are
 * written under a temp name and renamed, index.json last, so a reader never sees a manifest
 * whose blobs are missing. Only paths made from checked digests are touched inside DIR.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isNotFound } from '../../store/content-store.js';
import { digestHex, sha256Digest } from '../../core/digest.js';
import { isDigest, MediaType, RefNameAnnotation, type Descriptor, type ImageIndex } from '../../core/oci.js';
import { checkBlob, parseManifestDocument } from '../../core/oci-documents.js';
import type { CacheLocation } from './location.js';

const refName = 'latest';

/** index.json and the cache manifest are small: never read more than this of either. */
const maxDocumentBytes = 4 * 1024 * 1024;

/**
 * Reads at most `limit` bytes of `file`, and one more to tell a longer file (checkBlob refuses
 * it); the declared size only bounds the read, nothing is allocated from it.
 */
async function readCapped(file: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { end: Math.min(limit, maxDocumentBytes) }))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class LocalDirCacheLocation implements CacheLocation {
  readonly label: string;

  constructor(private readonly dir: string) {
    this.label = `local cache ${dir}`;
  }

  async readManifest(): Promise<Buffer | undefined> {
    const index = await readCapped(join(this.dir, 'index.json'), maxDocumentBytes).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (index === undefined) return undefined;
    const document = parseManifestDocument(index, `${this.label}: index.json`);
    if (document.kind !== 'index') throw new Error(`${this.label}: index.json is not an index`);
    const entry = document.index.manifests.find((m) => m.annotations?.[RefNameAnnotation] === refName);
    if (entry === undefined) return undefined;
    if (entry.size > maxDocumentBytes)
      throw new Error(`${this.label}: manifest ${entry.digest} is over the size limit`);
    const bytes = await readCapped(this.blobPath(entry), entry.size);
    checkBlob(bytes, entry, `${this.label}: manifest ${entry.digest}`);
    return bytes;
  }

  async readBlob<T>(blob: Descriptor, consume: (bytes: Readable) => Promise<T>): Promise<T> {
    return consume(createReadStream(this.blobPath(blob)));
  }

  async writeBlob(blob: Descriptor, open: () => Readable): Promise<boolean> {
    const target = this.blobPath(blob);
    const existing = await stat(target).catch(() => undefined);
    if (existing?.size === blob.size) return false;
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await pipeline(open(), createWriteStream(temp));
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
    return true;
  }

  async writeManifest(bytes: Buffer): Promise<void> {
    const digest = sha256Digest(bytes);
    await this.writeBlob({ mediaType: MediaType.ociManifest, digest, size: bytes.length }, () => bufferStream(bytes));
    await writeAtomic(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest, size: bytes.length, annotations: { [RefNameAnnotation]: refName } },
      ],
    };
    await writeAtomic(join(this.dir, 'index.json'), JSON.stringify(index));
  }

  close(): void {}

  private blobPath(blob: Descriptor): string {
    if (!isDigest(blob.digest)) throw new Error(`${this.label}: malformed digest ${String(blob.digest)}`);
    return join(this.dir, 'blobs', 'sha256', digestHex(blob.digest));
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

function bufferStream(bytes: Buffer): Readable {
  return Readable.from([bytes]);
}
