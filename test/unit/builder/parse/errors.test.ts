import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../core/errors.js';
import { parseDockerfile } from '../../../../builder/parse/index.js';
import { readConformance, readConformanceJson, thrownBy } from './conformance.js';

interface ErrorCase {
  id: number;
  name: string;
  file: string;
  stage: 'parse' | 'instruction' | 'convert' | 'build' | 'frontend';
  expected_error: string[];
  error_lines?: number[];
}

const cases = readConformanceJson<ErrorCase[]>('errors', 'cases.json');
const parserCases = cases.filter((entry) => entry.stage === 'parse' || entry.stage === 'instruction');

describe('errors/cases.json (parse and instruction stages)', () => {
  it('rejects every case with all expected substrings and the right line', () => {
    let passed = 0;
    for (const entry of parserCases) {
      const error = thrownBy(() => parseDockerfile(readConformance('errors', entry.file), entry.file));
      expect(error, entry.name).toBeInstanceOf(DockerfileError);
      const { message, line } = error as DockerfileError;
      for (const part of entry.expected_error) expect(message, entry.name).toContain(part);
      expect(message.startsWith(`${entry.file}:`), entry.name).toBe(true);
      if (entry.error_lines) expect(entry.error_lines, entry.name).toContain(line);
      passed++;
    }
    console.log(`errors parse+instruction: ${passed}/${parserCases.length}`);
    expect(parserCases.length).toBeGreaterThan(40);
  });

  it('reports which later-stage cases the parser already rejects', () => {
    const later = cases.filter((entry) => !parserCases.includes(entry));
    const rejected = later.filter((entry) => thrownBy(() => parseDockerfile(readConformance('errors', entry.file))));
    console.log(
      `errors later stages rejected by the parser: ${rejected.length}/${later.length}`,
      rejected.map((entry) => `${entry.id}-${entry.name} (${entry.stage})`),
    );
    // Only the cases that are errors in the file itself may fail here; the rest must parse.
    for (const entry of rejected) expect(['convert', 'build', 'frontend']).toContain(entry.stage);
    expect(later.length + parserCases.length).toBe(66);
  });
});
