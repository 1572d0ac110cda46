import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BuildContext } from '../../../../builder/context/build-context.js';
import { IgnoreMatcher, findIgnoreFile, readIgnoreFile } from '../../../../builder/context/dockerignore.js';
import { cleanPath } from '../../../../builder/context/paths.js';
import { conformanceDir } from '../../../helpers/paths.js';

const dataDir = path.join(conformanceDir, 'dockerignore');

interface MatchCase {
  id: number;
  patterns: string[];
  path: string;
  match: boolean;
  error: boolean;
  api: 'MatchesOrParentMatches' | 'Matches' | 'context-transfer';
  note?: string;
}
interface ReadAllCase {
  id: number;
  content: string | null;
  patterns: string[];
}

const cases = JSON.parse(readFileSync(path.join(dataDir, 'cases.json'), 'utf8')) as MatchCase[];
const readAllCases = JSON.parse(readFileSync(path.join(dataDir, 'readall_cases.json'), 'utf8')) as ReadAllCase[];
const passed = { matching: 0, contextTransfer: 0, readAll: 0 };

afterAll(() => {
  console.log(
    `dockerignore conformance: ${passed.matching} matching + ${passed.contextTransfer} context-transfer of ` +
      `${cases.length} cases, ` +
      `${passed.readAll} of ${readAllCases.length} reader cases passed`,
  );
});

/** Runs a matcher the way the case's upstream API does; throws on a bad pattern. */
function upstreamMatch(c: MatchCase): boolean {
  const matcher = new IgnoreMatcher(c.patterns);
  if (c.api === 'Matches') {
    // The package-level helper cleans the path, and never matches the context root.
    const cleaned = cleanPath(c.path);
    return cleaned === '.' ? false : matcher.matches(cleaned);
  }
  return matcher.matches(c.path);
}

describe('cases.json: pattern matching', () => {
  it.each(cases.filter((c) => c.api !== 'context-transfer'))('#$id $api $patterns ~ $path', (c) => {
    if (c.error) expect(() => upstreamMatch(c)).toThrow(/bad pattern|illegal exclusion/);
    else expect(upstreamMatch(c)).toBe(c.match);
    passed.matching++;
  });
});

/** The ignore file a context-transfer case uses: `<name>.dockerignore` when the note says so. */
function dockerfileNameOf(c: MatchCase): string | undefined {
  return /patterns come from (\S+)\.dockerignore/.exec(c.note ?? '')?.[1];
}

/** Builds a real context for a group of cases and returns the files `COPY . .` would see. */
async function transferredFiles(group: MatchCase[]): Promise<Set<string>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tzb-ignore-'));
  try {
    const dockerfileName = dockerfileNameOf(group[0] as MatchCase);
    const patterns = (group[0] as MatchCase).patterns;
    for (const c of group) await writeFile(path.join(dir, c.path), `content of ${c.path}\n`);
    await writeFile(path.join(dir, dockerfileName ?? 'Dockerfile'), 'FROM scratch\nCOPY . .\n');
    if (dockerfileName === undefined) {
      await writeFile(path.join(dir, '.dockerignore'), `\n${patterns.join('\n')}\n`);
    } else {
      await writeFile(path.join(dir, `${dockerfileName}.dockerignore`), `${patterns.join('\n')}\n`);
      // A .dockerignore that would drop every file the case keeps: it must lose to the specific one.
      const kept = group.filter((c) => !c.match).map((c) => c.path);
      await writeFile(path.join(dir, '.dockerignore'), `${kept.join('\n')}\n`);
    }
    const context = await BuildContext.open(dir, { dockerfilePath: path.join(dir, dockerfileName ?? 'Dockerfile') });
    const [root] = await context.resolveSources(['.']);
    const seen = new Set<string>();
    for await (const entry of context.walk(root!)) if (entry.stat.isFile()) seen.add(entry.rel);
    return seen;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('cases.json: context transfer (real files, COPY . .)', () => {
  const groups = new Map<string, MatchCase[]>();
  for (const c of cases.filter((x) => x.api === 'context-transfer')) {
    const key = `${dockerfileNameOf(c) ?? ''}|${c.patterns.join('\n')}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  it.each([...groups.values()].map((group) => ({ ids: group.map((c) => c.id).join(','), group })))(
    'cases $ids',
    async ({ group }) => {
      const seen = await transferredFiles(group);
      for (const c of group) {
        expect(seen.has(c.path), `#${c.id} ${c.path}`).toBe(!c.match);
        passed.contextTransfer++;
      }
    },
  );
});

describe('readall_cases.json: reading the ignore file', () => {
  it.each(readAllCases)('#$id', (c) => {
    expect(readIgnoreFile(c.content)).toEqual(c.patterns);
    passed.readAll++;
  });

  it('ignores a UTF-8 BOM and CRLF line ends', () => {
    expect(readIgnoreFile('\uFEFFnode_modules\r\n*.log\r\n')).toEqual(['node_modules', '*.log']);
  });
});

describe('findIgnoreFile and matchingPattern', () => {
  it('prefers <Dockerfile>.dockerignore beside the Dockerfile, else the context one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tzb-find-'));
    try {
      await mkdir(path.join(dir, 'build'));
      expect(await findIgnoreFile(dir, path.join(dir, 'build/app.Dockerfile'))).toBeUndefined();
      await writeFile(path.join(dir, '.dockerignore'), 'x\n');
      expect(await findIgnoreFile(dir, path.join(dir, 'build/app.Dockerfile'))).toBe(path.join(dir, '.dockerignore'));
      await writeFile(path.join(dir, 'build/app.Dockerfile.dockerignore'), 'y\n');
      expect(await findIgnoreFile(dir, path.join(dir, 'build/app.Dockerfile'))).toBe(
        path.join(dir, 'build/app.Dockerfile.dockerignore'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the pattern that excluded a path, and none for a re-included one', () => {
    const matcher = new IgnoreMatcher(['docs', '*.md', '!README.md']);
    expect(matcher.matchingPattern('docs/guide/intro.txt')).toBe('docs');
    expect(matcher.matchingPattern('CHANGELOG.md')).toBe('*.md');
    expect(matcher.matchingPattern('README.md')).toBeUndefined();
    expect(matcher.matchingPattern('src/main.ts')).toBeUndefined();
  });
});
