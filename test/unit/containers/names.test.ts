import { describe, expect, it } from 'vitest';
import { generateName, validName } from '../../../containers/names.js';

describe('container names', () => {
  it('generates Docker-shaped names that are valid and not taken', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const name = generateName(taken);
      expect(name).toMatch(/^[a-z]+_[a-z]+\d*$/);
      expect(validName(name)).toBe(true);
      expect(taken.has(name)).toBe(false);
      taken.add(name);
    }
  });

  it("validates given names with Docker's rule", () => {
    expect(validName('web-1.prod_a')).toBe(true);
    for (const bad of ['', 'a', '-web', 'web/1', 'we b', '.x']) expect(validName(bad), bad).toBe(false);
  });
});
