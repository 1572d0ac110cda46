import { describe, expect, it } from 'vitest';
import { isKnownSignal } from '../../../builder/signals.js';

describe('isKnownSignal (moby signal.ParseSignal)', () => {
  it('accepts Linux signal names in any case, with or without SIG', () => {
    for (const name of ['SIGTERM', 'sigterm', 'term', 'KILL', 'SIGRTMIN+3', 'RTMAX-14', 'sigrtmax', 'SIGWINCH'])
      expect(isKnownSignal(name), name).toBe(true);
  });

  it('accepts any non-zero integer Go parses, as docker does', () => {
    for (const number of ['9', '99', '+15', '-1', '4294967296', '9223372036854775807'])
      expect(isKnownSignal(number), number).toBe(true);
  });

  it('refuses unknown names, zero, and numbers Go cannot parse', () => {
    for (const raw of ['SIGFOO', 'SIG', 'SIGSIGTERM', '0', '-0', '9abc', '1.5', '9223372036854775808', 'RTMIN+16', ''])
      expect(isKnownSignal(raw), raw).toBe(false);
  });
});
