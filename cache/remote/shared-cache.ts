/**
 * One build's shared caches: the `--cache-from` caches read before it starts and the `--cache-to`
 * exports written after it succeeded. Problems reading a cache are warnings (the build just runs
 * its steps, as buildx does); a failed export is an error, one line naming the destination.
 */
import { UserError } from '../../core/errors.js';
import type { ContentStore } from '../../core/ports.js';
import { exportCache, type ExportResult } from './export.js';
import { readCache, type ImportedCache } from './import.js';
import type { LayeredCacheStore } from './layered-cache-store.js';
import { LocalDirCacheLocation } from './local-dir.js';
import type { CacheLocation } from './location.js';
import { RegistryCacheLocation } from './registry-location.js';
import { parseCacheFrom, parseCacheTo, type CacheExportSpec, type CacheLocationSpec } from './spec.js';

export class SharedCaches {
  private constructor(
    private readonly storeRoot: string,
    /** The caches `--cache-from` found, in flag order (the first one holding a key wins). */
    readonly imports: ImportedCache[],
    private readonly exports: CacheExportSpec[],
  ) {}

  /** Parses the flags (usage errors throw) and reads each `--cache-from` cache; undefined when there are none. */
  static async open(
    cacheFrom: string[],
    cacheTo: string[],
    storeRoot: string,
    warn: (line: string) => void,
  ): Promise<SharedCaches | undefined> {
    if (cacheFrom.length === 0 && cacheTo.length === 0) return undefined;
    const importSpecs = cacheFrom.map(parseCacheFrom);
    const exports = cacheTo.map(parseCacheTo);
    // A bad --cache-to ref must fail now, not after a long build.
    for (const spec of exports) openLocation(spec.location, storeRoot).close();
    const imports: ImportedCache[] = [];
    for (const spec of importSpecs) {
      const location = openLocation(spec.location, storeRoot);
      try {
        const cache = await readCache(location);
        if (cache === undefined) warn(`--cache-from ${spec.text}: no cache there yet; building without it`);
        else imports.push(cache);
      } catch (error) {
        warn(`--cache-from ${spec.text}: ignored: ${oneLine(error)}`);
      }
      if (!imports.some((cache) => cache.location === location)) location.close();
    }
    return new SharedCaches(storeRoot, imports, exports);
  }

  /** Writes every `--cache-to`; returns one summary line each. Throws a UserError on the first failure. */
  async exportAll(cache: LayeredCacheStore, content: ContentStore): Promise<string[]> {
    const lines: string[] = [];
    for (const spec of this.exports) {
      const location = openLocation(spec.location, this.storeRoot);
      let result: ExportResult;
      try {
        result = await exportCache(content, await cache.usedRecords(spec.mode), location);
      } catch (error) {
        throw new UserError(`--cache-to ${spec.text}: cache export failed: ${oneLine(error)}`, 'CACHE_EXPORT', {
          cause: error,
        });
      } finally {
        location.close();
      }
      lines.push(
        `cache exported to ${spec.text}: ${result.records} records, ${result.layers} layers (${result.sent} blobs ` +
          `sent, ${result.sentBytes} bytes)`,
      );
    }
    return lines;
  }

  close(): void {
    for (const cache of this.imports) cache.location.close();
  }
}

function openLocation(spec: CacheLocationSpec, storeRoot: string): CacheLocation {
  return spec.type === 'registry'
    ? new RegistryCacheLocation(spec.ref, storeRoot)
    : new LocalDirCacheLocation(spec.dir);
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
