/**
 * The step cache with imported caches behind it (`--cache-from`) and a memory of what the build
 * used (`--cache-to`). A lookup the disk cache cannot serve is tried against each imported cache
 * in order. A hit there whose layer the store lacks offers that layer to {@link LazyLayers}
 * (fetched only when something unpacks or commits it); the record is written to the disk cache
 * once its layer is in the store (a local record never points at a missing blob), and from then on
 * it is an ordinary local hit. Inputs, the build history and the step lock are the local cache's.
 */
import type { BuildHistoryEntry, CacheRecord, CacheStore, CacheUseScope, ContentStore } from '../../core/ports.js';
import type { ExportedRecord } from './format.js';
import type { ImportedCache } from './import.js';
import { LazyLayers } from './lazy-layers.js';
import type { CacheExportMode } from './spec.js';

interface UsedRecord {
  record: CacheRecord;
  scope: CacheUseScope;
}

export class LayeredCacheStore implements CacheStore {
  private readonly used = new Map<string, UsedRecord>();
  readonly lazy: LazyLayers;

  /** `content` is the store's own content store (not the build's lazy view of it). */
  constructor(
    private readonly local: CacheStore,
    private readonly content: ContentStore,
    private readonly imports: readonly ImportedCache[],
  ) {
    this.lazy = new LazyLayers(content);
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const local = await this.local.get(key);
    if (local !== undefined && (await this.layerPresent(local))) return local;
    for (const source of this.imports) {
      const record = source.records.get(key);
      if (record === undefined) continue;
      if (record.layer !== undefined && !(await this.content.has(record.layer.diffId)))
        this.lazy.offer(record.layer.diffId, source, () => this.put(key, record));
      else await this.put(key, record);
      return record;
    }
    return local;
  }

  put(key: string, record: CacheRecord): Promise<void> {
    return this.local.put(key, record);
  }

  getInputs(identity: string): Promise<Record<string, string> | undefined> {
    return this.local.getInputs(identity);
  }

  putInputs(identity: string, inputs: Record<string, string>): Promise<void> {
    return this.local.putInputs(identity, inputs);
  }

  appendHistory(identity: string, build: BuildHistoryEntry): Promise<void> {
    return this.local.appendHistory(identity, build);
  }

  readHistory(identity: string): Promise<BuildHistoryEntry[]> {
    return this.local.readHistory(identity);
  }

  lock<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.local.lock(key, work);
  }

  noteUsed(key: string, record: CacheRecord, scope: CacheUseScope): void {
    this.used.set(key, { record, scope });
  }

  /** The records to export (min: those of the stages in the image; max: every stage's), their layers in the store. */
  async usedRecords(mode: CacheExportMode): Promise<ExportedRecord[]> {
    const records = [...this.used]
      .filter(([, used]) => mode === 'max' || used.scope.inFinalImage)
      .map(([key, { record }]) => ({
        key,
        ...(record.layer ? { layer: { diffId: record.layer.diffId, size: record.layer.size } } : {}),
        durationMs: record.durationMs,
        created: record.created,
      }))
      .sort((a, b) => a.key.localeCompare(b.key));
    await this.lazy.ensure(records.flatMap((record) => (record.layer ? [record.layer] : [])));
    return records;
  }

  private async layerPresent(record: CacheRecord): Promise<boolean> {
    return record.layer === undefined || this.content.has(record.layer.diffId);
  }
}
