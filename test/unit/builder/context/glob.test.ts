import { describe, expect, it } from 'vitest';
import { GlobSyntaxError, globMatch, hasWildcard, validateGlob } from '../../../../builder/context/glob.js';
import { cleanPath } from '../../../../builder/context/paths.js';

describe('globMatch (Go filepath.Match)', () => {
  it.each([
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*', '.hidden', true],
    ['*c', 'abc', true],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[^e-g]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['[\\-x]', '-', true],
    ['a?b', 'a/b', false],
    ['*x', 'xxx', true],
    ['[a-ζ]*', 'α', true],
  ])('%s ~ %s → %s', (pattern, name, expected) => {
    expect(globMatch(pattern, name)).toBe(expected);
  });

  it.each(['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a[', '*['])('rejects %s', (pattern) => {
    expect(() => validateGlob(pattern)).toThrow(GlobSyntaxError);
  });

  it('reports a bad class even after an earlier mismatch', () => {
    expect(() => globMatch('x[', 'abc')).toThrow(GlobSyntaxError);
  });
});

describe('helpers', () => {
  it('sees only unescaped wildcards', () => {
    expect(hasWildcard('src/*.ts')).toBe(true);
    expect(hasWildcard('file[1].txt')).toBe(true);
    expect(hasWildcard('file\\[1\\].txt')).toBe(false);
    expect(hasWildcard('plain/path')).toBe(false);
  });

  it('cleans paths like Go', () => {
    expect(cleanPath('a//b/./c/..')).toBe('a/b');
    expect(cleanPath('/../x')).toBe('/x');
    expect(cleanPath('../x/')).toBe('../x');
    expect(cleanPath('')).toBe('.');
    expect(cleanPath('docs/')).toBe('docs');
  });
});
