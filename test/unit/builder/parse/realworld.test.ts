import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ParsedDockerfile } from '../../../../builder/instructions.js';
import { dumpAst, parseAst, parseDockerfile, toParseJson } from '../../../../builder/parse/index.js';
import { conformancePath, readConformance, readConformanceJson } from './conformance.js';

interface RealworldExpected {
  file: string;
  parse_ok: boolean;
  escape_token: string;
  warnings: string[];
  instructions_ok: boolean;
  stages: number;
  meta_args: number;
  instructions: unknown[];
}

const files = readdirSync(conformancePath('realworld'))
  .filter((name) => name.endsWith('.Dockerfile'))
  .sort();

/** INDEX.tsv: file → [instruction count, stage count] as the reference found them. */
function indexCounts(): Map<string, [number, number]> {
  const [header = '', ...rows] = readConformance('realworld', 'INDEX.tsv').trim().split('\n');
  const columns = header.split('\t');
  const at = (row: string[], name: string) => Number(row[columns.indexOf(name)]);
  return new Map(
    rows.map((line) => line.split('\t')).map((row) => [row[0] ?? '', [at(row, 'instructions'), at(row, 'stages')]]),
  );
}

function metaArgCount(parsed: ParsedDockerfile): number {
  const firstFrom = parsed.instructions.findIndex((instruction) => instruction.kind === 'from');
  return parsed.instructions.slice(0, firstFrom < 0 ? undefined : firstFrom).length;
}

describe('realworld Dockerfiles', () => {
  it('has the 128 files', () => {
    expect(files).toHaveLength(128);
  });

  it('dumps every file exactly as expected/*.result', () => {
    const failures = files.filter(
      (file) =>
        dumpAst(parseAst(readConformance('realworld', file))) !==
        readConformance('realworld', 'expected', `${file}.result`),
    );
    console.log(`realworld result dumps: ${files.length - failures.length}/${files.length}`);
    expect(failures).toEqual([]);
  });

  it('matches expected/*.json: instructions, lines, heredocs, escape, warnings, meta args, stages', () => {
    let passed = 0;
    let instructionCount = 0;
    const counts = indexCounts();
    for (const file of files) {
      const expected = readConformanceJson<RealworldExpected>('realworld', 'expected', `${file}.json`);
      const parsed = parseDockerfile(readConformance('realworld', file), file);
      expect(expected.parse_ok && expected.instructions_ok).toBe(true);
      expect(toParseJson(parsed), file).toEqual(expected.instructions);
      expect(parsed.escapeToken, file).toBe(expected.escape_token);
      expect(
        parsed.warnings.map((warning) => warning.message),
        file,
      ).toEqual(expected.warnings);
      expect(metaArgCount(parsed), file).toBe(expected.meta_args);
      expect(parsed.instructions.filter((instruction) => instruction.kind === 'from').length, file).toBe(
        expected.stages,
      );
      expect([parsed.instructions.length, expected.stages], file).toEqual(counts.get(file));
      instructionCount += expected.instructions.length;
      passed++;
    }
    console.log(`realworld json: ${passed}/${files.length} files, ${instructionCount} instructions`);
    // FORMAT.md says 3,633 in total; INDEX.tsv and expected/*.json both hold 2,300.
    expect(instructionCount).toBe([...counts.values()].reduce((sum, [count]) => sum + count, 0));
  });
});
