import { describe, expect, it } from 'vitest';
import { execaSync } from 'execa';
import type { Digest } from '../../../core/oci.js';
import { chainIds } from '../../../store/snapshotter.js';

const a: Digest = `sha256:${'a'.repeat(64)}`;
const b: Digest = `sha256:${'b'.repeat(64)}`;
const c: Digest = `sha256:${'c'.repeat(64)}`;

describe('chainIds', () => {
  it('follows the OCI definition', () => {
    const [first, second, third] = chainIds([a, b, c]);
    expect(first).toBe(a);
    // Known value, computed once with: printf 'sha256:aaa… sha256:bbb…' | sha256sum
    expect(second).toBe('sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c');
    // And cross-checked against coreutils for the next link.
    const expectedThird = execaSync('sha256sum', { input: `${second} ${c}` }).stdout.split(' ')[0];
    expect(third).toBe(`sha256:${expectedThird}`);
  });

  it('is empty for no layers', () => {
    expect(chainIds([])).toEqual([]);
  });
});
