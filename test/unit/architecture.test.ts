/**
 * The import direction and the composition root, enforced: docs/architecture.md's layering holds
 * for every module, and a planted wrong import or construction is caught.
 */
import { describe, expect, it } from 'vitest';
import {
  constructionViolations,
  layeringViolations,
  portImplementations,
  readSources,
} from '../helpers/architecture.js';
import { repoRoot } from '../helpers/paths.js';

const sources = readSources(repoRoot);

describe('architecture', () => {
  it('reads the whole tree', () => {
    expect(sources.length).toBeGreaterThan(150);
    expect(portImplementations(sources).get('FsSnapshotter')).toBe('store/snapshotter.ts');
  });

  it('imports point down only: cli → builder → cache|runners → archive|registry → store → layers → sys → core', () => {
    expect(layeringViolations(sources)).toEqual([]);
  });

  it('only the composition roots construct the ports of other modules', () => {
    expect(constructionViolations(sources)).toEqual([]);
  });

  it('fails on a planted import that points up or sideways', () => {
    const planted = [
      ...sources,
      { file: 'sys/planted.ts', text: "import { build } from '../builder/build.js';" },
      {
        file: 'runners/planted.ts',
        text: [
          "import type { CacheStore } from '../cache/cache-store.js';",
          "const lazy = () => import('../cache/keys.js');",
        ].join('\n'),
      },
    ];
    expect(layeringViolations(planted)).toEqual([
      'sys/planted.ts → builder/build.js',
      'runners/planted.ts → cache/cache-store.js',
      'runners/planted.ts → cache/keys.js',
    ]);
  });

  it('fails on a planted construction of an adapter outside the composition root', () => {
    const planted = [
      ...sources,
      {
        file: 'builder/planted.ts',
        text: [
          "import { DiskCacheStore } from '../cache/cache-store.js';",
          "export const cache = new DiskCacheStore('/x');",
        ].join('\n'),
      },
    ];
    expect(constructionViolations(planted)).toEqual(['builder/planted.ts constructs DiskCacheStore']);
  });
});
