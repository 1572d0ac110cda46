/**
 * The build context: the directory COPY and ADD read from, seen through .dockerignore. It
 * resolves source words to context paths, walks them, and digests them for cache keys.
 *
 * Symlinks (checked against Docker/BuildKit, moby/moby#39810, moby/buildkit#1260): a source
 * named in the Dockerfile that is a symlink is followed, so `COPY link /x` copies the target's
 * content; symlinks found inside a copied directory stay symlinks. We follow links only while
 * they stay inside the context and refuse one that leaves it (BuildKit would re-root it instead).
 */
import { createHash } from 'node:crypto';
import { realpath, stat as statPath } from 'node:fs/promises';
import path from 'node:path';
import { ContextError } from '../../core/errors.js';
import type { Digest } from '../../core/oci.js';
import { maxRecordedFiles } from '../step-inputs.js';
import { digestEntry, type DigestStats, knownBare } from './digest.js';
import { IgnoreMatcher, loadIgnoreMatcher } from './dockerignore.js';
import { excluded, notFound } from './errors.js';
import { hasWildcard } from './glob.js';
import { cleanSource, expandWildcards, resolveScoped, skipEscapes, type LinkScope } from './resolve.js';
import { cacheKey, StatCache, validatorOf } from './stat-cache.js';
import { hasIncludedEntries, rootEntry, walkChildren, type ContextEntry } from './walk.js';

export type { ContextEntry } from './walk.js';
export type { DigestStats } from './digest.js';

/** How to open a context. */
export interface OpenContextOptions {
  /** The Dockerfile, to find `<name>.dockerignore` beside it (which wins over `.dockerignore`). */
  dockerfilePath?: string;
  /** Patterns to use instead of reading an ignore file. */
  ignorePatterns?: readonly string[];
  /** Where to keep the stat cache between builds; none means an in-memory cache. */
  statCachePath?: string;
  /**
   * `rootfs` opens an image filesystem (COPY --from): absolute symlinks resolve from its root, as
   * inside a container. Default `context`.
   */
  linkScope?: LinkScope;
}

/** How to resolve COPY/ADD sources. */
export interface ResolveOptions {
  /** Expand `*`, `?` and `[...]` (default true; COPY and ADD do). */
  allowWildcards?: boolean;
  /** Follow a source that is itself a symlink (default true, as Docker does). */
  followSymlinks?: boolean;
  /**
   * The instruction has sources outside this call (heredocs, URLs), so these may resolve to
   * nothing at all (default false: then a call whose wildcards all match nothing fails).
   */
  othersMatch?: boolean;
}

/** One resolved source. */
export interface ContextSource {
  /** The source word it came from. */
  source: string;
  /** The path as named (after wildcard expansion), relative to the context root. */
  rel: string;
  /** The path after following the named path's symlinks; what is actually copied. */
  resolved: string;
  abs: string;
  /** lstat of `resolved`. */
  stat: import('node:fs').Stats;
}

/** What the bodies kept for a COPY may hold at most (bytes). */
const keptBodiesBudget = 64 * 1024 * 1024;

/** A context directory with its ignore rules and content-hash cache. */
export class BuildContext {
  private readonly counters: DigestStats = { filesHashed: 0, cacheHits: 0 };
  /**
   * The entries the last digest of each source saw, handed once to the next walk of that source:
   * a COPY that misses then copies the very listing it hashed, without an lstat per file again.
   * Bounded: keeping a big context's entries (20,000 of them, each with its Stats) alive through
   * the digest cost a cached build more in garbage collection than a second walk costs
   * a build whose COPY runs, so a big context is simply walked twice.
   */
  private readonly replays = new WeakMap<ContextSource, ContextEntry[]>();
  /**
   * Small files a COPY's digest read (stat cache misses: a cold build, changed files), so its
   * layer is written from those very bytes without opening each file again.
   */
  private readonly bodies = new Map<string, { validator: string; body: Buffer }>();
  private keptBytes = 0;
  private replayBudget = 2_000;

  private constructor(
    /** Absolute real path of the context directory. */
    readonly root: string,
    readonly ignore: IgnoreMatcher,
    private readonly statCache: StatCache,
    private readonly linkScope: LinkScope,
  ) {}

  /**
   * Opens `contextDir`, reading its ignore file and stat cache.
   * @throws ContextError when the directory is missing, or for a bad .dockerignore pattern.
   */
  static async open(contextDir: string, options: OpenContextOptions = {}): Promise<BuildContext> {
    let root: string;
    try {
      root = await realpath(contextDir);
      if (!(await statPath(root)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new ContextError(`build context ${contextDir} is not a directory`, 'CONTEXT_MISSING');
    }
    const ignore =
      options.ignorePatterns !== undefined
        ? new IgnoreMatcher(options.ignorePatterns)
        : await loadIgnoreMatcher(root, options.dockerfilePath);
    return new BuildContext(root, ignore, await StatCache.load(options.statCachePath), options.linkScope ?? 'context');
  }

  /** Counters since this context was opened (files hashed vs. served by the stat cache). */
  get stats(): Readonly<DigestStats> {
    return { ...this.counters };
  }

  /**
   * The context paths that the source words (already variable-expanded) name, in order. A
   * wildcard that matches nothing is skipped when another source matches (BuildKit's
   * AllowEmptyWildcard); only when nothing matches at all is it an error.
   * @throws ContextError when a plain source is missing, excluded, or outside the context, or
   * when every source is a wildcard matching nothing.
   */
  async resolveSources(sources: readonly string[], options: ResolveOptions = {}): Promise<ContextSource[]> {
    const resolved: ContextSource[] = [];
    let emptyWildcard: ContextError | undefined;
    for (const source of sources) {
      const cleaned = cleanSource(source);
      if (options.allowWildcards !== false && hasWildcard(cleaned)) {
        const matches = await this.resolveWildcard(source, cleaned, options);
        if (matches instanceof ContextError) emptyWildcard ??= matches;
        else resolved.push(...matches);
      } else {
        resolved.push(await this.resolveOne(source, cleaned, options));
      }
    }
    if (resolved.length === 0 && emptyWildcard !== undefined && options.othersMatch !== true) throw emptyWildcard;
    return resolved;
  }

  /** Everything a source contains, the source itself first, sorted by name, excluded files left out. */
  async *walk(source: ContextSource): AsyncGenerator<ContextEntry> {
    const replay = this.replays.get(source);
    if (replay !== undefined) {
      this.replays.delete(source);
      this.replayBudget += replay.length;
      yield* replay;
      return;
    }
    yield* this.walkNow(source);
  }

  /** {@link walk} as a plain generator (the walk is synchronous; see walk.ts). */
  private *walkNow(source: ContextSource): Generator<ContextEntry> {
    const top = rootEntry(source.abs, source.resolved, source.stat);
    yield top;
    if (source.stat.isDirectory()) yield* walkChildren(top, this.ignore);
  }

  /**
   * The content digest of the sources (see digest.ts for what it covers), then saves the stat
   * cache so the next build re-reads only files whose stat changed. With `summaries`, records
   * each entry's `<type> <mode> <content>` summary by path (for explaining cache misses). With
   * `keepBodies`, the small files it reads stay in memory (bounded) for {@link takeBody}.
   */
  async digestSources(
    sources: readonly ContextSource[],
    summaries?: Map<string, string>,
    options: { keepBodies?: boolean } = {},
  ): Promise<Digest> {
    const hash = createHash('sha256');
    hash.update('tzbuild-context-digest-v1\n');
    let walked = 0;
    let summarizing = summaries !== undefined;
    const keep = options.keepBodies === true ? this.keepBody : undefined;
    for (const source of sources) {
      const prefix = Buffer.from(`${source.rel}/`);
      let seen: ContextEntry[] | undefined = [];
      for (const entry of this.walkNow(source)) {
        seen?.push(entry);
        if (seen !== undefined && seen.length > this.replayBudget) seen = undefined;
        // The walk and most hashing are synchronous: let timers and I/O (progress, a parallel
        // stage) run now and then.
        if (++walked % 2048 === 0) await new Promise((resolve) => setImmediate(resolve));
        const name = entry.rel === '.' ? Buffer.from(source.rel) : Buffer.concat([prefix, entry.relBytes]);
        const summary = await digestEntry(hash, name, entry, this.statCache, this.counters, summarizing, keep);
        if (summarizing) {
          summaries?.set(name.toString(), summary);
          // Past what an explanation records (explain.ts then keeps only the total digest): stop.
          summarizing = (summaries?.size ?? 0) <= maxRecordedFiles;
        }
      }
      if (seen !== undefined) this.remember(source, seen);
    }
    await this.statCache.save();
    return `sha256:${hash.digest('hex')}`;
  }

  private readonly keepBody = (entry: ContextEntry, body: Buffer): void => {
    if (this.keptBytes + body.length > keptBodiesBudget) return;
    this.keptBytes += body.length;
    this.bodies.set(cacheKey(entry.absBytes, entry.abs), {
      validator: validatorOf(entry.stat),
      body: Buffer.from(body),
    });
  };

  /**
   * The bytes a digest with `keepBodies` read of this file, if its stat is unchanged since (then
   * they are its content, and the bytes its digest was made of); given out once.
   */
  takeBody(entry: ContextEntry): Buffer | undefined {
    const key = cacheKey(entry.absBytes, entry.abs);
    const kept = this.bodies.get(key);
    if (kept === undefined) return undefined;
    this.bodies.delete(key);
    this.keptBytes -= kept.body.length;
    return kept.validator === validatorOf(entry.stat) ? kept.body : undefined;
  }

  /** Drops the bodies still kept (the step that would have used them is over). */
  dropBodies(): void {
    this.bodies.clear();
    this.keptBytes = 0;
  }

  private remember(source: ContextSource, entries: ContextEntry[]): void {
    const previous = this.replays.get(source);
    if (previous !== undefined) this.replayBudget += previous.length;
    this.replays.set(source, entries);
    this.replayBudget -= entries.length;
  }

  /**
   * True when the stat cache knows `entry` (its stat unchanged since) to have no extended
   * attribute at all, so a COPY of it need not list them.
   */
  knownBare(entry: ContextEntry): boolean {
    return knownBare(entry, this.statCache);
  }

  /** Saves the stat cache (digestSources already does; this covers a build that failed midway). */
  async close(): Promise<void> {
    await this.statCache.save();
  }

  private async resolveOne(source: string, cleaned: string, options: ResolveOptions): Promise<ContextSource> {
    const found = await this.lookup(source, cleaned, options);
    if (typeof found === 'string') throw found === '' ? notFound(source) : excluded(source, found);
    return found;
  }

  /** The matches of a wildcard source, or the error to give when it matches nothing. */
  private async resolveWildcard(
    source: string,
    cleaned: string,
    options: ResolveOptions,
  ): Promise<ContextSource[] | ContextError> {
    const matches: ContextSource[] = [];
    let excludedBy: string | undefined;
    for (const rel of await expandWildcards(this.root, cleaned, source, this.linkScope)) {
      const found = await this.lookup(source, rel, options).catch(skipEscapes);
      if (found === undefined) continue;
      if (typeof found !== 'string') matches.push(found);
      else if (found !== '') excludedBy ??= found;
    }
    if (matches.length > 0) return matches;
    return excludedBy === undefined ? notFound(source) : excluded(source, excludedBy);
  }

  /** A source, '' when it does not exist, or the ignore pattern that leaves it out. */
  private async lookup(source: string, rel: string, options: ResolveOptions): Promise<ContextSource | string> {
    const scoped = await resolveScoped(this.root, rel, options.followSymlinks !== false, source, this.linkScope);
    if (scoped.stat === undefined) return '';
    const abs = scoped.rel === '.' ? this.root : path.join(this.root, scoped.rel);
    const candidate: ContextSource = { source, rel, resolved: scoped.rel, abs, stat: scoped.stat };
    const pattern = this.ignore.matchingPattern(rel) ?? this.ignore.matchingPattern(scoped.rel);
    if (pattern === undefined) return candidate;
    // An excluded directory still exists in the context when `!` patterns keep files inside it.
    const kept =
      scoped.stat.isDirectory() &&
      this.ignore.hasExceptions &&
      (await hasIncludedEntries(rootEntry(abs, scoped.rel, scoped.stat), this.ignore));
    return kept ? candidate : pattern;
  }
}
