/**
 * `.dockerignore`: reading the file and matching context paths, with the rules of Docker's
 * moby/patternmatcher (last matching pattern wins, `!` re-includes, a pattern also matches
 * everything under a directory it matches, `**` crosses directories).
 */
import { existsSync, readFileSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ContextError } from '../../core/errors.js';
import { GlobSyntaxError, validateGlob } from './glob.js';
import { cleanPath } from './paths.js';

/**
 * Parses ignore-file text into patterns: `#` in column 1 starts a comment, lines are trimmed,
 * empty lines dropped, each path cleaned and its leading `/` removed; `!` is kept in front.
 */
export function readIgnoreFile(text: string | null | undefined): string[] {
  if (text === null || text === undefined) return [];
  const patterns: string[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw) => {
      if (raw.startsWith('#')) return;
      let line = raw.trim();
      if (line === '') return;
      const invert = line.startsWith('!');
      if (invert) line = line.slice(1).trim();
      if (line !== '') {
        line = cleanPath(line);
        if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
      }
      patterns.push(invert ? `!${line}` : line);
    });
  return patterns;
}

type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** One compiled ignore pattern. */
interface CompiledPattern {
  /** The pattern as written in the file (for messages). */
  source: string;
  exclusion: boolean;
  cleaned: string;
  kind: MatchKind;
  regexp?: RegExp;
}

/** Characters that are literal in a glob but special in a regexp. */
const REGEX_LITERAL = /[.+()|{}$^\]\\*?[/]/;

function literal(ch: string): string {
  return REGEX_LITERAL.test(ch) ? `\\${ch}` : ch;
}

/** Copies a `[...]` class (already validated by the glob check) into regexp syntax. */
function translateClass(chars: string[], start: number, pattern: string): { text: string; next: number } {
  let i = start + 1;
  let text = '[';
  if (chars[i] === '^') {
    text += '^';
    i++;
  }
  const bound = (): number => {
    if (chars[i] === '\\') i++;
    return (chars[i++] as string).codePointAt(0) as number;
  };
  for (let first = true; first || chars[i] !== ']'; first = false) {
    const lo = bound();
    let hi = lo;
    if (chars[i] === '-') {
      i++;
      hi = bound();
    }
    // Docker compiles classes with Go's regexp, which rejects a reversed range.
    if (hi < lo) throw new GlobSyntaxError(pattern);
    text += `\\u{${lo.toString(16)}}-\\u{${hi.toString(16)}}`;
  }
  return { text: `${text}]`, next: i + 1 };
}

/** `**` at `i`: returns its regexp text and updates the match kind as Docker does. */
function translateDoubleStar(
  chars: string[],
  i: number,
  kind: MatchKind,
): { text: string; next: number; kind: MatchKind } {
  let next = i + 2;
  if (chars[next] === '/') next++;
  let text = '';
  let newKind: MatchKind;
  if (next >= chars.length) {
    // Trailing `**` accepts everything below (like .gitignore).
    if (kind === 'exact') newKind = 'prefix';
    else {
      text = '[^\\n]*';
      newKind = 'regexp';
    }
  } else {
    text = '([^\\n]*/)?';
    newKind = 'regexp';
  }
  return { text, next, kind: i === 0 ? 'suffix' : newKind };
}

/** Compiles a cleaned pattern to Docker's exact/prefix/suffix shortcut or a regexp. */
function compile(cleaned: string): { kind: MatchKind; regexp?: RegExp } {
  const chars = Array.from(cleaned);
  let kind: MatchKind = 'exact';
  let source = '^';
  for (let i = 0; i < chars.length; ) {
    const ch = chars[i] as string;
    if (ch === '*' && chars[i + 1] === '*') {
      const star = translateDoubleStar(chars, i, kind);
      source += star.text;
      kind = star.kind;
      i = star.next;
    } else if (ch === '*' || ch === '?') {
      source += ch === '*' ? '[^/]*' : '[^/]';
      kind = 'regexp';
      i++;
    } else if (ch === '[') {
      const cls = translateClass(chars, i, cleaned);
      source += cls.text;
      kind = 'regexp';
      i = cls.next;
    } else if (ch === '\\' && i + 1 < chars.length) {
      source += literal(chars[i + 1] as string);
      kind = 'regexp';
      i += 2;
    } else {
      source += literal(ch);
      if (ch === ']') kind = 'regexp';
      i++;
    }
  }
  return kind === 'regexp' ? { kind, regexp: new RegExp(`${source}$`, 'u') } : { kind };
}

function compilePattern(raw: string): CompiledPattern | undefined {
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  let cleaned = cleanPath(trimmed);
  const exclusion = cleaned.startsWith('!');
  if (exclusion) {
    if (cleaned.length === 1) throw new ContextError('.dockerignore: illegal exclusion pattern: "!"', 'DOCKERIGNORE');
    cleaned = cleaned.slice(1);
  }
  try {
    validateGlob(cleaned);
    return { source: raw, exclusion, cleaned, ...compile(cleaned) };
  } catch (error) {
    if (error instanceof GlobSyntaxError) {
      throw new ContextError(
        `.dockerignore: bad pattern ${JSON.stringify(raw)}: syntax error in pattern`,
        'DOCKERIGNORE',
      );
    }
    throw error;
  }
}

function patternMatches(pattern: CompiledPattern, rel: string): boolean {
  switch (pattern.kind) {
    case 'exact':
      return rel === pattern.cleaned;
    case 'prefix':
      return rel.startsWith(pattern.cleaned.slice(0, -2));
    case 'suffix': {
      const suffix = pattern.cleaned.slice(2);
      return rel.endsWith(suffix) || (suffix.startsWith('/') && rel === suffix.slice(1));
    }
    case 'regexp':
      return (pattern.regexp as RegExp).test(rel);
  }
}

/**
 * The compiled patterns of one ignore file. Paths are context-relative and `/`-separated.
 * @throws ContextError (code `DOCKERIGNORE`) on a bad pattern, when constructed.
 */
export class IgnoreMatcher {
  private readonly patterns: CompiledPattern[];
  /** True when some pattern starts with `!`, so an excluded directory may still hold included files. */
  readonly hasExceptions: boolean;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(compilePattern).filter((p): p is CompiledPattern => p !== undefined);
    this.hasExceptions = this.patterns.some((p) => p.exclusion);
  }

  /** True when `relPath` is excluded (the path itself or one of its parents matches). */
  matches(relPath: string): boolean {
    return this.matchingPattern(relPath) !== undefined;
  }

  /** The pattern (as written) that excludes `relPath`, or undefined when it is included. */
  matchingPattern(relPath: string): string | undefined {
    // The context root itself is never excluded (Docker: "don't let them exclude everything").
    if (relPath === '.' || relPath === '') return undefined;
    const parents = relPath.split('/').slice(0, -1);
    let excludedBy: string | undefined;
    for (const pattern of this.patterns) {
      // An include pattern is only tried while included, an exception only while excluded.
      if (pattern.exclusion !== (excludedBy !== undefined)) continue;
      let hit = patternMatches(pattern, relPath);
      for (let depth = 1; !hit && depth <= parents.length; depth++) {
        hit = patternMatches(pattern, parents.slice(0, depth).join('/'));
      }
      if (hit) excludedBy = pattern.exclusion ? undefined : pattern.source;
    }
    return excludedBy;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Where an ignore file may be, the one that wins first. */
function ignoreFileCandidates(contextDir: string, dockerfilePath?: string): string[] {
  const general = path.join(path.resolve(contextDir), '.dockerignore');
  return dockerfilePath === undefined ? [general] : [`${path.resolve(dockerfilePath)}.dockerignore`, general];
}

/**
 * The ignore file that applies: `<Dockerfile name>.dockerignore` beside the Dockerfile wins over
 * `<context>/.dockerignore`. Returns its path, or undefined when there is none.
 */
export async function findIgnoreFile(contextDir: string, dockerfilePath?: string): Promise<string | undefined> {
  for (const candidate of ignoreFileCandidates(contextDir, dockerfilePath))
    if (await exists(candidate)) return candidate;
  return undefined;
}

/** Reads the applicable ignore file (see findIgnoreFile) into a matcher; none means no patterns. */
export async function loadIgnoreMatcher(contextDir: string, dockerfilePath?: string): Promise<IgnoreMatcher> {
  const file = await findIgnoreFile(contextDir, dockerfilePath);
  return file === undefined ? new IgnoreMatcher([]) : matcherOf(file, await readFile(file, 'utf8'));
}

/**
 * {@link loadIgnoreMatcher} with synchronous calls: for a caller with nothing else to do meanwhile
 * (the build checks, before a build), two or three small reads cost less than thread-pool trips.
 */
export function loadIgnoreMatcherSync(contextDir: string, dockerfilePath?: string): IgnoreMatcher {
  const file = ignoreFileCandidates(contextDir, dockerfilePath).find((candidate) => existsSync(candidate));
  return file === undefined ? new IgnoreMatcher([]) : matcherOf(file, readFileSync(file, 'utf8'));
}

function matcherOf(file: string, text: string): IgnoreMatcher {
  try {
    return new IgnoreMatcher(readIgnoreFile(text));
  } catch (error) {
    if (error instanceof ContextError) throw new ContextError(error.message.replace('.dockerignore', file), error.code);
    throw error;
  }
}
