import { describe, expect, it } from 'vitest';
import { shownName } from '../../../core/names.js';

describe('shownName', () => {
  it('shows UTF-8 as is and other bytes as \\xNN', () => {
    expect(shownName('dir/café 🐳.txt')).toBe('"dir/café 🐳.txt"');
    expect(shownName(Buffer.from([0x64, 0x2f, 0x66, 0xff, 0xfe, 0x63, 0x61, 0x66, 0xe9]))).toBe(
      '"d/f\\xff\\xfecaf\\xe9"',
    );
    // An overlong encoding and a lone continuation byte are not UTF-8; a newline is a control character.
    expect(shownName(Buffer.from([0xc0, 0xaf, 0x80, 0x0a]))).toBe('"\\xc0\\xaf\\x80\\x0a"');
  });

  it('cuts a long path in its middle', () => {
    const deep = Array.from({ length: 500 }, () => 'dddddddddd').join('/');
    const shown = shownName(`${deep}/leaf`);
    expect(shown.length).toBe(102);
    expect(shown).toMatch(/^"dddddddddd\/d.*….*dddd\/leaf"$/);
  });
});
