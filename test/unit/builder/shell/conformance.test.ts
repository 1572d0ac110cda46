import { afterAll, describe, expect, it } from 'vitest';
import { expandWord, expandWords, ShellExpansionError } from '../../../../builder/shell/index.js';
import { envVarTestEnv, readEnvVarTest, readProcessCases, readWordsTest } from './conformance.js';

const counts = { envVarTest: 0, wordsTest: 0, processCases: 0, windowsOnly: 0 };

afterAll(() => {
  console.log(
    `shell conformance: envVarTest ${counts.envVarTest} passed (${counts.windowsOnly} W lines not counted), ` +
      `wordsTest ${counts.wordsTest} passed, process_cases ${counts.processCases} passed`,
  );
});

describe('envVarTest (ProcessWord)', () => {
  const all = readEnvVarTest();
  counts.windowsOnly = all.filter((c) => c.platform === 'W').length;
  const linuxCases = all.filter((c) => c.platform !== 'W');

  it('has the cases FORMAT.md describes', () => {
    expect(linuxCases.length).toBeGreaterThan(200);
  });

  it.each(linuxCases)('line $line: $input', (c) => {
    if (c.expected === undefined) {
      expect(() => expandWord(c.input, envVarTestEnv)).toThrow(ShellExpansionError);
    } else {
      expect(expandWord(c.input, envVarTestEnv).value).toBe(c.expected);
    }
    counts.envVarTest++;
  });
});

describe('wordsTest (ProcessWords)', () => {
  it.each(readWordsTest())('line $line: $input', (c) => {
    if (c.expected === undefined) {
      expect(() => expandWords(c.input, c.env)).toThrow(ShellExpansionError);
    } else {
      expect(expandWords(c.input, c.env)).toEqual(c.expected);
    }
    counts.wordsTest++;
  });
});

describe('process_cases.json (ProcessWordWithMatches)', () => {
  it.each(readProcessCases())('#$id: $input', (c) => {
    const env = new Map(Object.entries(c.envs));
    if (c.error) {
      let thrown: unknown;
      try {
        expandWord(c.input, env);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ShellExpansionError);
      if (c.error_contains !== null) expect((thrown as Error).message).toContain(c.error_contains);
    } else {
      const result = expandWord(c.input, env);
      expect(result.value).toBe(c.expected);
      if (c.matches !== null) expect([...result.matched].sort()).toEqual(c.matches);
      if (c.unmatched !== null) expect([...result.unmatched].sort()).toEqual(c.unmatched);
    }
    counts.processCases++;
  });
});
