/**
 * A cache kept under a registry tag (`type=registry,ref=R`): the manifest at `R`, its blobs in
 * R's repository, through the same client, credentials and blob bookkeeping as push and pull, so a
 * layer pushed with the image is HEADed (or mounted), never uploaded twice.
 */
import type { Readable } from 'node:stream';
import { isDigest, type Descriptor } from '../../core/oci.js';
import { sha256Digest } from '../../core/digest.js';
import { BlobIndex } from '../../registry/blob-index.js';
import { ensureBlob } from '../../registry/blob-upload.js';
import { RegistryClient, type RegistryClientOptions } from '../../registry/client.js';
import { RegistryError } from '../../registry/errors.js';
import { asBodyError } from '../../registry/http.js';
import { parseReference, type ImageReference } from '../../registry/reference.js';
import { MediaType } from '../../core/oci.js';
import type { CacheLocation } from './location.js';

export class RegistryCacheLocation implements CacheLocation {
  readonly label: string;
  private readonly ref: ImageReference;
  private readonly client: RegistryClient;
  private readonly index: BlobIndex;

  constructor(reference: string, storeRoot: string, options: RegistryClientOptions = {}) {
    this.ref = parseReference(reference);
    if (this.ref.tag === undefined)
      throw new RegistryError(`cache ref ${reference} must name a tag, not a digest`, 'BAD_REFERENCE');
    this.label = `type=registry,ref=${reference}`;
    this.client = new RegistryClient(this.ref.registry, options);
    this.index = new BlobIndex(storeRoot);
  }

  async readManifest(): Promise<Buffer | undefined> {
    try {
      const { bytes, digestHeader } = await this.client.getManifest(this.ref.repository, this.ref.tag ?? 'latest');
      if (digestHeader !== undefined && isDigest(digestHeader) && sha256Digest(bytes) !== digestHeader) {
        throw new RegistryError(
          this.client.label(`cache manifest ${this.ref.repository}:${this.ref.tag} does not match its digest`),
          'REGISTRY_DIGEST_MISMATCH',
        );
      }
      return bytes;
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'REGISTRY_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async readBlob<T>(blob: Descriptor, consume: (bytes: Readable) => Promise<T>): Promise<T> {
    const label = this.client.label(`cache blob ${blob.digest} of ${this.ref.repository}`);
    const result = await this.client.retry(async () => {
      const res = await this.client.getBlob(this.ref.repository, blob.digest);
      try {
        return await consume(res.body);
      } catch (error) {
        res.body.destroy();
        throw asBodyError(error, label);
      }
    });
    await this.index.markSeen(blob.digest, this.client.registry, this.ref.repository);
    return result;
  }

  async writeBlob(blob: Descriptor, open: () => Readable): Promise<boolean> {
    return (await ensureBlob(this.client, this.index, this.ref.repository, blob, open)) === 'uploaded';
  }

  async writeManifest(bytes: Buffer): Promise<void> {
    const reported = await this.client.putManifest(
      this.ref.repository,
      this.ref.tag ?? 'latest',
      MediaType.ociManifest,
      bytes,
    );
    if (reported !== undefined && reported !== sha256Digest(bytes)) {
      throw new RegistryError(
        this.client.label(`cache manifest ${this.ref.repository}:${this.ref.tag}: registry reports ${reported}`),
        'REGISTRY_DIGEST_MISMATCH',
      );
    }
  }

  close(): void {
    this.client.close();
  }
}
