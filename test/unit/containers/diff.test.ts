import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerChanges, formatChanges } from '../../../containers/diff.js';
import type { LayerEntry } from '../../../core/ports.js';
import { tempDir } from '../../helpers/layers.js';

/** Files (content) and dirs (trailing /) under `root`. */
async function tree(root: string, paths: string[]): Promise<string> {
  for (const entry of paths) {
    const full = path.join(root, entry);
    if (entry.endsWith('/')) await mkdir(full, { recursive: true });
    else {
      await mkdir(path.dirname(full), { recursive: true });
      await writeFile(full, entry);
    }
  }
  return root;
}

/** The entries a walk of the upperdir yields: whiteouts and opaque markers as the walker reports them. */
async function* entries(list: [string, LayerEntry['type']][]): AsyncIterable<LayerEntry> {
  for (const [entryPath, type] of list) yield { path: entryPath, type, mode: 0o755, uid: 0, gid: 0, mtime: 0 };
}

describe('containerChanges', () => {
  it('names additions, changes and deletions the way docker diff does, sorted by path', async () => {
    const lower = await tree(await tempDir(), [
      'etc/passwd',
      'data/a',
      'data/c',
      'data/gone/g',
      'data/sub/b',
      'data/sub/deep/d',
    ]);
    const upper = await tree(await tempDir(), ['etc/passwd', 'data/c', 'data/sub/new', 'opt/x/y']);
    const changes = await containerChanges(
      entries([
        ['data', 'directory'],
        ['data/a', 'whiteout'],
        ['data/c', 'file'],
        ['data/gone', 'whiteout'],
        ['data/sub', 'directory'],
        ['data/sub', 'opaque'],
        ['data/sub/new', 'file'],
        ['etc', 'directory'],
        ['etc/passwd', 'file'],
        ['opt', 'directory'],
        ['opt/x', 'directory'],
        ['opt/x/y', 'file'],
      ]),
      upper,
      [lower],
    );
    expect(formatChanges(changes)).toBe(
      [
        'C /data',
        'D /data/a',
        'C /data/c',
        'D /data/gone',
        'C /data/sub',
        'D /data/sub/b',
        'D /data/sub/deep',
        'A /data/sub/new',
        'C /etc',
        'C /etc/passwd',
        'A /opt',
        'A /opt/x',
        'A /opt/x/y',
        '',
      ].join('\n'),
    );
  });

  it('a directory copied up with nothing changed under it and the same mode is no change', async () => {
    const lower = await tree(await tempDir(), ['srv/keep']);
    const upper = await tree(await tempDir(), ['srv/']);
    expect(await containerChanges(entries([['srv', 'directory']]), upper, [lower])).toEqual([]);
  });

  it('a whiteout of something no lower layer shows is not a deletion', async () => {
    const lower = await tree(await tempDir(), ['kept']);
    const upper = await tempDir();
    expect(await containerChanges(entries([['never', 'whiteout']]), upper, [lower])).toEqual([]);
  });
});
