/** DiskCacheStore's build history: appended per build, bounded, and readers skip what they cannot parse. */
import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskCacheStore } from '../../../cache/cache-store.js';
import { buildHistoryLength, type BuildHistoryEntry } from '../../../core/ports.js';

const identity = 'ab'.repeat(32);

function entry(n: number): BuildHistoryEntry {
  return {
    v: 1,
    time: new Date(n * 1000).toISOString(),
    target: '0',
    steps: [{ stepId: '0.1', line: 2, instruction: `RUN ${n}`, instructionHash: 'h', cached: n % 2 === 0 }],
  };
}

describe('DiskCacheStore history', () => {
  it('reads nothing before the first build, without creating anything', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'tz-history-'));
    expect(await new DiskCacheStore(root).readHistory(identity)).toEqual([]);
  });

  it('keeps builds in order, at most the bound, and trims the file', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'tz-history-'));
    const cache = new DiskCacheStore(root);
    const total = 2 * buildHistoryLength + 3;
    for (let n = 1; n <= total; n++) await cache.appendHistory(identity, entry(n));
    const history = await cache.readHistory(identity);
    expect(history).toHaveLength(buildHistoryLength);
    expect(history.at(-1)).toEqual(entry(total));
    expect(history[0]).toEqual(entry(total - buildHistoryLength + 1));
    const file = path.join(root, 'cache', 'history', `${identity}.jsonl`);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(2 * buildHistoryLength);
    // Every line is one whole entry: a cut file still ends with a newline for the next append.
    expect(lines.map((line) => (JSON.parse(line) as BuildHistoryEntry).time)).toEqual(
      Array.from({ length: lines.length }, (_, i) => entry(total - lines.length + 1 + i).time),
    );
  });

  it('skips torn and foreign lines', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'tz-history-'));
    const cache = new DiskCacheStore(root);
    await cache.appendHistory(identity, entry(1));
    const file = path.join(root, 'cache', 'history', `${identity}.jsonl`);
    await appendFile(file, '{"v":2,"steps":[]}\n{"v":1,"ti');
    await cache.appendHistory(identity, entry(2));
    expect(await cache.readHistory(identity)).toEqual([entry(1)]);
  });
});
