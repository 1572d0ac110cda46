import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../core/errors.js';
import { expandWord, expandWords, ShellExpansionError } from '../../../../builder/shell/index.js';

const env = new Map([
  ['PWD', '/home'],
  ['SPACE', 'a  b'],
  ['EMPTY', ''],
  ['FILE', 'archive.tar.gz'],
]);
const tick = { escapeToken: '`' } as const;

describe('backtick escape token', () => {
  it('escapes quotes, $ and spaces with a backtick', () => {
    expect(expandWord('he`$PWD', env, tick).value).toBe('he$PWD');
    expect(expandWord('he``$PWD', env, tick).value).toBe('he`/home');
    expect(expandWord("he`'llo", env, tick).value).toBe("he'llo");
    expect(expandWords('a` b c', env, tick)).toEqual(['a b', 'c']);
  });

  it('leaves the backslash literal (Windows paths)', () => {
    expect(expandWord('C:\\foo\\$PWD', env, tick).value).toBe('C:\\foo\\/home');
    expect(expandWord('"C:\\dir\\"', env, tick).value).toBe('C:\\dir\\');
  });

  it('escapes only ", $ and itself inside double quotes', () => {
    expect(expandWord('"a`"b"', env, tick).value).toBe('a"b');
    expect(expandWord('"a`tb"', env, tick).value).toBe('a`tb');
    expect(expandWord('"a``b"', env, tick).value).toBe('a`b');
  });

  it('drops a trailing backtick and still fails on an unclosed quote', () => {
    expect(expandWord('abc`', env, tick).value).toBe('abc');
    expect(() => expandWord('"abc`"', env, tick)).toThrow(ShellExpansionError);
  });
});

describe('pattern operators', () => {
  it('trims shortest and longest prefixes and suffixes', () => {
    expect(expandWord('${FILE#*.}', env).value).toBe('tar.gz');
    expect(expandWord('${FILE##*.}', env).value).toBe('gz');
    expect(expandWord('${FILE%.*}', env).value).toBe('archive.tar');
    expect(expandWord('${FILE%%.*}', env).value).toBe('archive');
  });

  it('replaces like Go: an empty match next to a previous match is skipped', () => {
    const xs = new Map([['X', 'xxyy']]);
    expect(expandWord('${X//*/-}', xs).value).toBe('-');
    expect(expandWord('${X///-}', xs).value).toBe('-x-x-y-y-');
    expect(expandWord('${X/y/Y}', xs).value).toBe('xxYy');
    expect(expandWord('${X//y/Y}', xs).value).toBe('xxYY');
  });

  it('treats $ and & in the replacement literally', () => {
    expect(expandWord("${PWD/home/'$&'}", env).value).toBe('/$&');
  });

  it('refuses a bad escape in a pattern', () => {
    expect(() => expandWord('${PWD#\\a}', env)).toThrow(/invalid pattern/);
  });
});

describe('errors and tracking', () => {
  it('is a UserError carrying the word and the expanded message', () => {
    let thrown: unknown;
    try {
      expandWord('${NOPE:?set NOPE for $PWD}', env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect(thrown).toMatchObject({
      code: 'SHELL_EXPANSION',
      word: '${NOPE:?set NOPE for $PWD}',
      detail: 'NOPE: set NOPE for /home',
    });
  });

  it('reports matched and unmatched names, also inside unused defaults', () => {
    const result = expandWord('${PWD:-$OTHER}$EMPTY', env);
    expect(result.value).toBe('/home');
    expect([...result.matched].sort()).toEqual(['EMPTY', 'PWD']);
    expect([...result.unmatched]).toEqual(['OTHER']);
  });
});

describe('word splitting', () => {
  it('splits unquoted expansions and keeps quoted ones', () => {
    expect(expandWords('x${SPACE}y "${SPACE}"', env)).toEqual(['xa', 'by', 'a  b']);
  });

  it('emits no empty words', () => {
    expect(expandWords('"" $EMPTY  a', env)).toEqual(['a']);
    expect(expandWords('', env)).toEqual([]);
  });
});
