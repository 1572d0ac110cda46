/**
 * A place a shared cache is kept: a registry tag (registry-location.ts) or an OCI
 * layout directory (local-dir.ts). Readers verify what they get; a location only moves bytes.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../../core/oci.js';

export interface CacheLocation {
  /** How the user named it (`type=registry,ref=…`), for messages. */
  readonly label: string;
  /** The cache manifest's bytes, checked against the digest the location reports; undefined when there is none. */
  readManifest(): Promise<Buffer | undefined>;
  /** Streams a blob's raw bytes into `consume` (retried as a whole on transient failures). */
  readBlob<T>(blob: Descriptor, consume: (bytes: Readable) => Promise<T>): Promise<T>;
  /** Makes sure the location holds `blob`; `open` gives its bytes when they must be sent. True when sent. */
  writeBlob(blob: Descriptor, open: () => Readable): Promise<boolean>;
  /** Points the location at a manifest whose blobs were written first. */
  writeManifest(bytes: Buffer): Promise<void>;
  close(): void;
}
