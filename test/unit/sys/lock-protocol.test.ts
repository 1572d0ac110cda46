/** The lock server's lines, both ways (the server itself: file-lock.test.ts). */
import { describe, expect, it } from 'vitest';
import { encodeLockRequest, lockablePath, parseLockAnswer } from '../../../sys/lock-protocol.js';

describe('lock protocol', () => {
  it('encodes the three requests', () => {
    expect(encodeLockRequest({ kind: 'lock', id: 7, shared: false, wait: true, path: '/a b/l' })).toBe(
      'L 7 x w /a b/l\n',
    );
    expect(encodeLockRequest({ kind: 'lock', id: 8, shared: true, wait: false, path: '/l' })).toBe('L 8 s n /l\n');
    expect(encodeLockRequest({ kind: 'release', id: 7 })).toBe('U 7\n');
    expect(encodeLockRequest({ kind: 'cancel', id: 8 })).toBe('C 8\n');
  });

  it('parses answers and ignores other lines', () => {
    expect(parseLockAnswer('ok 7')).toEqual({ id: 7, answer: { kind: 'ok' } });
    expect(parseLockAnswer('busy 8')).toEqual({ id: 8, answer: { kind: 'busy' } });
    expect(parseLockAnswer('err 9 Permission denied')).toEqual({
      id: 9,
      answer: { kind: 'error', message: 'Permission denied' },
    });
    expect(parseLockAnswer('hello')).toBeUndefined();
  });

  it('refuses paths that would break a line', () => {
    expect(lockablePath('/a b/l')).toBe(true);
    expect(lockablePath('/a\nb')).toBe(false);
    expect(lockablePath('/a\0b')).toBe(false);
  });
});
