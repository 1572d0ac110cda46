import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../core/errors.js';
import { readDirectives } from '../../../../builder/parse/directives.js';
import {
  dumpAst,
  findDirective,
  parseAst,
  parseAstDocument,
  parseDockerfile,
  parseWords,
} from '../../../../builder/parse/index.js';
import { conformancePath, readConformance, readConformanceJson, thrownBy } from './conformance.js';

interface StatusFile {
  file: string;
  escape_token: string;
  warnings: string[];
  instructions_ok: boolean;
  instructions_error: string | null;
  line_ranges: [number, number][];
}

const status = readConformanceJson<{ files: StatusFile[] }>('parser', 'reference_status.json').files;

describe('parser/testfiles', () => {
  const cases = readdirSync(conformancePath('parser', 'testfiles')).sort();

  it('dumps every positive file exactly as the reference result', () => {
    const failures = cases.filter((name) => {
      const dump = dumpAst(parseAst(readConformance('parser', 'testfiles', name, 'Dockerfile')));
      return dump !== readConformance('parser', 'testfiles', name, 'result');
    });
    console.log(`parser testfiles: ${cases.length - failures.length}/${cases.length}`);
    expect(failures).toEqual([]);
    expect(cases).toHaveLength(33);
  });

  it('matches the reference status: lines, escape token, warnings, typed-stage outcome', () => {
    for (const entry of status) {
      const text = readConformance('parser', entry.file);
      const document = parseAstDocument(text);
      expect(
        document.nodes.map((node) => [node.startLine, node.endLine]),
        entry.file,
      ).toEqual(entry.line_ranges);
      expect(document.escapeToken).toBe(entry.escape_token);
      expect(document.warnings.map((warning) => warning.message.split('. Empty continuation')[0])).toEqual(
        entry.warnings,
      );
      const error = thrownBy(() => parseDockerfile(text));
      if (entry.instructions_ok) expect(error, entry.file).toBeUndefined();
      else expect((error as Error).message, entry.file).toContain(stripLinePrefix(entry.instructions_error ?? ''));
    }
    console.log(`parser reference_status: ${status.length}/${status.length}`);
  });
});

function stripLinePrefix(message: string): string {
  return message.replace(/^dockerfile parse error on line \d+: /, '');
}

describe('parser/testfiles-negative', () => {
  it('rejects every negative file', () => {
    const cases = readdirSync(conformancePath('parser', 'testfiles-negative')).sort();
    const rejected = cases.filter((name) => {
      const error = thrownBy(() => parseAst(readConformance('parser', 'testfiles-negative', name, 'Dockerfile')));
      return error instanceof DockerfileError;
    });
    console.log(`parser testfiles-negative: ${rejected.length}/${cases.length}`);
    expect(rejected).toEqual(cases);
  });

  it('gives the reference messages', () => {
    const messageOf = (name: string) =>
      (thrownBy(() => parseAst(readConformance('parser', 'testfiles-negative', name, 'Dockerfile'))) as Error).message;
    expect(messageOf('empty_dockerfile')).toContain('file with no instructions');
    expect(messageOf('only_comments')).toContain('file with no instructions');
    expect(messageOf('env_no_value')).toContain('ENV must have two arguments');
    expect(messageOf('shykes-nested-json')).toContain('arrays must be comprised of strings only');
  });
});

interface ExtraCases {
  line_numbers: { file: string; ast_start_line: number; ast_end_line: number; children: [number, number][] };
  parse_words: { cases: { input: string; expect: string[] }[] };
  empty_continuation_warnings: {
    dockerfile: string;
    warning_count: number;
    warnings_contain: string[][];
    first_warning_detail_contains: string;
  };
  json_arrays: { valid: { input: string; expect: string[] }[]; invalid_not_string_array: string[] };
  directives: { cases: DirectiveCase[] };
}

interface DirectiveCase {
  api: string;
  input: string;
  ok?: boolean;
  ref?: string;
  cmdline?: string;
  line?: number;
  directives?: { name: string; value: string }[];
}

const extra = readConformanceJson<ExtraCases>('parser', 'extra_cases.json');

describe('parser/testfile-line and extra_cases.json', () => {
  it('gives the reference line ranges', () => {
    const { file, children, ast_start_line: start, ast_end_line: end } = extra.line_numbers;
    const nodes = parseAst(readConformance('parser', file));
    expect(nodes.map((node) => [node.startLine, node.endLine])).toEqual(children);
    expect([nodes[0]?.startLine, nodes.at(-1)?.endLine]).toEqual([start, end]);
  });

  it('splits words like the reference', () => {
    for (const { input, expect: words } of extra.parse_words.cases) expect(parseWords(input, '\\')).toEqual(words);
    console.log(`parser parse_words: ${extra.parse_words.cases.length}/${extra.parse_words.cases.length}`);
  });

  it('warns about empty continuation lines only', () => {
    const spec = extra.empty_continuation_warnings;
    const { warnings } = parseAstDocument(spec.dockerfile);
    expect(warnings).toHaveLength(spec.warning_count);
    spec.warnings_contain.forEach((parts, index) => {
      for (const part of parts) expect(warnings[index]?.message).toContain(part);
    });
    expect(warnings[0]?.message).toContain(spec.first_warning_detail_contains);
  });

  it('reads JSON arrays and rejects arrays of non-strings', () => {
    for (const { input, expect: values } of extra.json_arrays.valid) {
      const [node] = parseAst(`CMD ${input}`);
      expect(node?.json, input).toBe(true);
      expect(node?.args, input).toEqual(values);
    }
    for (const input of extra.json_arrays.invalid_not_string_array) {
      const error = thrownBy(() => parseAst(`RUN ${input}`));
      expect(error, input).toBeInstanceOf(DockerfileError);
      expect((error as Error).message).toContain('arrays must be comprised of strings only');
    }
    const total = extra.json_arrays.valid.length + extra.json_arrays.invalid_not_string_array.length;
    console.log(`parser json_arrays: ${total}/${total}`);
  });

  it('finds directives like the reference', () => {
    for (const spec of extra.directives.cases) checkDirectiveCase(spec);
    console.log(`parser directives: ${extra.directives.cases.length}/${extra.directives.cases.length}`);
  });
});

function checkDirectiveCase(spec: DirectiveCase): void {
  if (spec.api === 'ParseAll') {
    const lines = spec.input.split('\n');
    const found = readDirectives(lines).map(({ name, value }) => ({ name, value }));
    expect(found, spec.input).toEqual(spec.directives);
    return;
  }
  const key = spec.api === 'DetectSyntax' ? 'syntax' : 'check';
  const found = findDirective(key, spec.input);
  expect(found !== undefined, spec.input).toBe(spec.ok);
  if (spec.ref !== undefined) expect(found?.ref ?? '').toBe(spec.ref);
  if (spec.cmdline !== undefined) expect(found?.cmdline ?? '').toBe(spec.cmdline);
  if (spec.line !== undefined) expect(found?.line).toBe(spec.line);
}
