/**
 * Making sure a repository holds a blob whose bytes we have: HEAD, else a cross-repository mount
 * from a repository the BlobIndex knows holds it, else an upload (one PUT when small, one streamed
 * PATCH when big). What `push` does per blob, for callers that push other things than images
 * (the shared build cache).
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../core/oci.js';
import type { BlobIndex } from './blob-index.js';
import type { RegistryClient } from './client.js';

/** Blobs up to this size go up in one PUT. */
const monolithicMaxBytes = 8 * 1024 * 1024;

/** How the repository came to hold the blob. */
export type BlobOutcome = 'existing' | 'mounted' | 'uploaded';

export async function ensureBlob(
  client: RegistryClient,
  index: BlobIndex,
  repository: string,
  blob: Descriptor,
  open: () => Readable,
): Promise<BlobOutcome> {
  const outcome = await placeBlob(client, index, repository, blob, open);
  await index.markSeen(blob.digest, client.registry, repository);
  return outcome;
}

async function placeBlob(
  client: RegistryClient,
  index: BlobIndex,
  repository: string,
  blob: Descriptor,
  open: () => Readable,
): Promise<BlobOutcome> {
  if (await client.hasBlob(repository, blob.digest)) return 'existing';
  const from = (await index.seenIn(blob.digest, client.registry)).find((other) => other !== repository);
  if (from !== undefined && (await client.startUpload(repository, { digest: blob.digest, from })).mounted)
    return 'mounted';
  const label = client.label(`upload of ${blob.digest} to ${repository}`);
  const body = { length: blob.size, open };
  await client.retry(async () => {
    const started = await client.startUpload(repository);
    if (started.mounted) return;
    if (blob.size <= monolithicMaxBytes) {
      await client.completeUpload(repository, started.location, blob.digest, body, label);
    } else {
      const next = await client.uploadChunk(repository, started.location, body, label);
      await client.completeUpload(repository, next, blob.digest, undefined, label);
    }
  });
  return 'uploaded';
}
