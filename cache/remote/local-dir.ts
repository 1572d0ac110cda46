/**
 * A cache in an OCI image layout directory (`type=local,dest=DIR` / `src=DIR`): `oci-layout`,
 * `index.json` naming the cache manifest (ref name `latest`), `blobs/sha256/<hex>`. Blobs are
 * written under a temp name and renamed, index.json last, so a reader never sees a manifest
 * whose blobs are missing. Only paths made from checked digests are touched inside DIR.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isNotFound } from '../../store/content-store.js';
import { digestHex, sha256Digest } from '../../core/digest.js';
import { isDigest, MediaType, RefNameAnnotation, type Descriptor, type ImageIndex } from '../../core/oci.js';
import type { CacheLocation } from './location.js';

const refName = 'latest';

export class LocalDirCacheLocation implements CacheLocation {
  readonly label: string;

  constructor(private readonly dir: string) {
    this.label = `local cache ${dir}`;
  }

  async readManifest(): Promise<Buffer | undefined> {
    const index = await readFile(join(this.dir, 'index.json'), 'utf8').catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (index === undefined) return undefined;
    const entry = (JSON.parse(index) as ImageIndex).manifests?.find(
      (m) => m.annotations?.[RefNameAnnotation] === refName,
    );
    if (entry === undefined || !isDigest(entry.digest)) return undefined;
    const bytes = await readFile(this.blobPath(entry));
    if (sha256Digest(bytes) !== entry.digest)
      throw new Error(`${this.label}: manifest ${entry.digest} does not match its digest`);
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
