/**
 * What tzbuild remembers about blobs in registries, under the store root:
 *
 * - `registry/compressed/<diffID hex>.json`: the compressed forms of an uncompressed layer,
 *   `{ "diffId", "variants": [{ "compression", "digest", "size", "mediaType" }] }`. A variant's
 *   blob may be in the store (we compressed it for a push) or only in a registry (we pulled it).
 * - `registry/seen/<blob hex>.json`: where a blob is known to exist, `{ "<registry>": ["repo", …] }`,
 *   from pushes and pulls; a push to another repository of that registry tries a mount from there.
 *
 * Both are hints: a lost update (two processes writing at once) or a stale entry only costs a
 * HEAD, a failed mount or a recompression; each file is replaced atomically (temp + rename).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound } from '../store/content-store.js';
import { digestHex } from '../core/digest.js';
import { isDigest, type Digest } from '../core/oci.js';

/** Compression of a pushed layer. */
export type LayerCompression = 'gzip' | 'zstd';

/** One compressed form of a layer. */
export interface CompressedVariant {
  compression: LayerCompression;
  digest: Digest;
  size: number;
  mediaType: string;
}

interface CompressedFile {
  diffId: Digest;
  variants: CompressedVariant[];
}

/** The registry bookkeeping files of one store root. */
export class BlobIndex {
  private readonly compressedDir: string;
  private readonly seenDir: string;

  constructor(storeRoot: string) {
    this.compressedDir = path.join(storeRoot, 'registry', 'compressed');
    this.seenDir = path.join(storeRoot, 'registry', 'seen');
  }

  /** The known compressed forms of a layer, optionally only those of one compression. */
  async variants(diffId: Digest, compression?: LayerCompression): Promise<CompressedVariant[]> {
    const file = await readJson<CompressedFile>(path.join(this.compressedDir, `${digestHex(diffId)}.json`));
    const variants = (file?.variants ?? []).filter((v) => isDigest(v.digest) && typeof v.size === 'number');
    return compression === undefined ? variants : variants.filter((v) => v.compression === compression);
  }

  /** Records a compressed form (newest first; same digest replaces the older entry). */
  async addVariant(diffId: Digest, variant: CompressedVariant): Promise<void> {
    const file = path.join(this.compressedDir, `${digestHex(diffId)}.json`);
    const existing = await this.variants(diffId);
    const variants = [variant, ...existing.filter((v) => v.digest !== variant.digest)];
    await writeJson(file, { diffId, variants } satisfies CompressedFile);
  }

  /** Repositories of `registry` known to hold `blob`. */
  async seenIn(blob: Digest, registry: string): Promise<string[]> {
    const file = await readJson<Record<string, string[]>>(path.join(this.seenDir, `${digestHex(blob)}.json`));
    const repos = file?.[registry];
    return Array.isArray(repos) ? repos.filter((r) => typeof r === 'string') : [];
  }

  /** Remembers that `repository` of `registry` holds `blob`. */
  async markSeen(blob: Digest, registry: string, repository: string): Promise<void> {
    const file = path.join(this.seenDir, `${digestHex(blob)}.json`);
    const all = (await readJson<Record<string, string[]>>(file)) ?? {};
    const repos = all[registry] ?? [];
    if (repos.includes(repository)) return;
    // Most recent first, bounded: mounts try only the first few anyway.
    all[registry] = [repository, ...repos].slice(0, 16);
    await writeJson(file, all);
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    // A missing or torn hint file is the same as no hint.
    if (isNotFound(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(value));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}
