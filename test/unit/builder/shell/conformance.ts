/** Readers for the BuildKit shell-lexer conformance data (see its FORMAT.md). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { conformanceDir } from '../../../helpers/paths.js';

export const shellDataDir = path.join(conformanceDir, 'shell');

export interface EnvVarCase {
  line: number;
  platform: 'A' | 'U' | 'W';
  input: string;
  /** undefined = the call must fail. */
  expected: string | undefined;
}

/** The fixed environment of every envVarTest line. */
export const envVarTestEnv = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);

export function readEnvVarTest(): EnvVarCase[] {
  const cases: EnvVarCase[] = [];
  readFileSync(path.join(shellDataDir, 'envVarTest'), 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      if (raw.startsWith('#')) return;
      const line = raw.trim();
      if (line === '') return;
      const fields = line.split('|').map((field) => field.trim());
      if (fields.length !== 3) throw new Error(`envVarTest:${index + 1}: malformed line`);
      const [platform, input, expected] = fields as [EnvVarCase['platform'], string, string];
      cases.push({ line: index + 1, platform, input, expected: expected === 'error' ? undefined : expected });
    });
  return cases;
}

export interface WordsCase {
  line: number;
  input: string;
  env: Map<string, string>;
  /** undefined = the call must fail. */
  expected: string[] | undefined;
}

export function readWordsTest(): WordsCase[] {
  const cases: WordsCase[] = [];
  const env = new Map<string, string>();
  readFileSync(path.join(shellDataDir, 'wordsTest'), 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      if (raw.startsWith('#') || raw === '') return;
      if (raw.startsWith('ENV ')) {
        const entry = raw.slice(4).trimStart();
        const eq = entry.indexOf('=');
        env.set(entry.slice(0, eq), entry.slice(eq + 1));
        return;
      }
      const parts = raw.split('|');
      if (parts.length !== 2) throw new Error(`wordsTest:${index + 1}: malformed line`);
      const expectedText = (parts[1] as string).trimStart();
      cases.push({
        line: index + 1,
        input: (parts[0] as string).trim(),
        env: new Map(env),
        expected: expectedText === 'error' ? undefined : expectedText.split(','),
      });
    });
  return cases;
}

export interface ProcessCase {
  id: number;
  input: string;
  envs: Record<string, string>;
  expected: string | null;
  error: boolean;
  error_contains: string | null;
  matches: string[] | null;
  unmatched: string[] | null;
  source: string;
}

export function readProcessCases(): ProcessCase[] {
  return JSON.parse(readFileSync(path.join(shellDataDir, 'process_cases.json'), 'utf8')) as ProcessCase[];
}
