import { describe, expect, it } from 'vitest';
import {
  chompHeredocContent,
  dumpAst,
  heredocsFromLine,
  parseAst,
  parseDockerfile,
  parseHeredocWord,
  toParseJson,
} from '../../../../builder/parse/index.js';
import { readConformance, readConformanceJson, thrownBy } from './conformance.js';

interface HeredocExpected {
  file: string;
  escape_token: string;
  dump: string;
  instructions: unknown[];
  instructions_ok: boolean;
  instructions_error?: string;
  stages?: number;
}

describe('parser/heredoc expected json', () => {
  for (const name of ['extracts-heredoc', 'json-heredoc']) {
    it(`${name}: dump, instructions with heredocs, typed outcome`, () => {
      const expected = readConformanceJson<HeredocExpected>('parser', 'heredoc', `${name}.expected.json`);
      const text = readConformance('parser', 'heredoc', expected.file);
      const nodes = parseAst(text);
      expect(dumpAst(nodes)).toBe(expected.dump);
      expect(toParseJson(nodes)).toEqual(expected.instructions);
      const error = thrownBy(() => parseDockerfile(text));
      if (expected.instructions_ok) {
        expect(error).toBeUndefined();
        const stages = parseDockerfile(text).instructions.filter((instruction) => instruction.kind === 'from');
        expect(stages).toHaveLength(expected.stages ?? 0);
      } else {
        expect((error as Error).message).toContain(
          (expected.instructions_error ?? '').replace(/^dockerfile parse error on line \d+: /, ''),
        );
      }
      console.log(
        `parser heredoc ${name}: ${expected.instructions.length}/${expected.instructions.length} instructions`,
      );
    });
  }
});

interface HeredocWords {
  parse_heredoc_word: { valid_name_EOF: string[]; invalid_error: string[]; not_heredoc: string[] };
  heredocs_from_line: { cases: { line: string; heredoc_names: string[] }[] };
  chomp: { input: string; expected: string };
}

describe('parser/heredoc/heredoc_words.json', () => {
  const words = readConformanceJson<HeredocWords>('parser', 'heredoc', 'heredoc_words.json');

  it('recognises heredoc opener words', () => {
    const { valid_name_EOF: valid, invalid_error: invalid, not_heredoc: notHeredoc } = words.parse_heredoc_word;
    for (const word of valid) expect(parseHeredocWord(word)?.name, word).toBe('EOF');
    for (const word of invalid)
      expect(
        thrownBy(() => parseHeredocWord(word)),
        word,
      ).toBeInstanceOf(Error);
    for (const word of notHeredoc) expect(parseHeredocWord(word), word).toBeUndefined();
    const total = valid.length + invalid.length + notHeredoc.length;
    console.log(`parser heredoc words: ${total}/${total}`);
  });

  it('finds the heredocs of whole lines', () => {
    for (const { line, heredoc_names: names } of words.heredocs_from_line.cases) {
      expect(
        heredocsFromLine(line).map((heredoc) => heredoc.name),
        line,
      ).toEqual(names);
    }
    console.log(
      `parser heredocs from line: ${words.heredocs_from_line.cases.length}/${words.heredocs_from_line.cases.length}`,
    );
  });

  it('chomps leading tabs', () => {
    expect(chompHeredocContent(words.chomp.input)).toBe(words.chomp.expected);
  });

  it('reads modes from the opener: fd, chomp, quoted delimiter', () => {
    expect(parseHeredocWord('3<<-"EOF"')).toEqual({ name: 'EOF', fd: 3, expand: false, chomp: true, content: '' });
    expect(parseHeredocWord('<<EOF')).toEqual({ name: 'EOF', fd: 0, expand: true, chomp: false, content: '' });
  });
});
