/**
 * Walking a resolved source: the source itself, then (for a directory) everything below it,
 * sorted by name, with .dockerignore applied. Names are read as raw bytes so a file whose name
 * is not UTF-8 is still found, stat'ed and hashed.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import type { IgnoreMatcher } from './dockerignore.js';
import { joinRel } from './paths.js';
import { pastPathMax } from '../../sys/safe-path.js';
import { tooDeep } from './errors.js';

/** One file, directory, symlink or special file of a source. */
export interface ContextEntry {
  /** Path relative to the source: `.` for the source itself, `a/b` below it. */
  rel: string;
  /** Real path relative to the context root (what .dockerignore is checked against). */
  contextPath: string;
  /** Absolute path on the host. Lossy for names that are not UTF-8: use `absBytes` for I/O. */
  abs: string;
  /** `abs` as raw bytes; fs calls accept it and it survives any name. */
  absBytes: Buffer;
  /** `rel` as raw bytes (empty for the source itself). */
  relBytes: Buffer;
  /** lstat of the entry (symlinks below the source are never followed). */
  stat: Stats;
}

const SLASH = Buffer.from('/');

function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 0 ? name : Buffer.concat([dir, SLASH, name]);
}

/** The context-relative path of `dir` as bytes (empty for the context root). */
function contextBytes(dir: ContextEntry): Buffer {
  return dir.contextPath === '.' || dir.contextPath === '' ? Buffer.alloc(0) : Buffer.from(dir.contextPath);
}

/**
 * Walks the children of `dir` (recursively), skipping excluded ones. readdir and lstat are
 * synchronous on purpose: they are served from the kernel's caches in microseconds, while each
 * async call is a round trip through libuv's thread pool that costs more than the call itself
 * (docs/performance.md). For the same reason it is a plain generator: an
 * async generator costs promise hops per entry, and async callers can still `for await` it.
 */
export function* walkChildren(dir: ContextEntry, ignore: IgnoreMatcher): Generator<ContextEntry> {
  const names = readdirSync(dir.absBytes, { encoding: 'buffer' });
  names.sort(Buffer.compare);
  for (const name of names) {
    const absBytes = joinBytes(dir.absBytes, name);
    const relBytes = joinBytes(dir.relBytes, name);
    // Past PATH_MAX no system call can name it (lstat would throw ENAMETOOLONG): say which it is.
    if (pastPathMax(absBytes)) throw tooDeep(joinBytes(contextBytes(dir), name), absBytes.length);
    // A file removed while we walk is simply not part of the context any more.
    const stat = lstatSync(absBytes, { throwIfNoEntry: false });
    if (stat === undefined) continue;
    const entry: ContextEntry = {
      rel: relBytes.toString('utf8'),
      contextPath: joinRel(dir.contextPath, name.toString('utf8')),
      abs: absBytes.toString('utf8'),
      absBytes,
      relBytes,
      stat,
    };
    if (!ignore.matches(entry.contextPath)) {
      yield entry;
      if (stat.isDirectory()) yield* walkChildren(entry, ignore);
    } else if (stat.isDirectory() && ignore.hasExceptions) {
      // An excluded directory is still sent when a `!` pattern re-includes something in it.
      let announced = false;
      for (const inner of walkChildren(entry, ignore)) {
        if (!announced) yield entry;
        announced = true;
        yield inner;
      }
    }
  }
}

/** The entry for a source's own root. */
export function rootEntry(abs: string, contextPath: string, stat: Stats): ContextEntry {
  return { rel: '.', contextPath, abs, absBytes: Buffer.from(abs), relBytes: Buffer.alloc(0), stat };
}

/** True when the directory has at least one entry .dockerignore keeps. */
export async function hasIncludedEntries(dir: ContextEntry, ignore: IgnoreMatcher): Promise<boolean> {
  for (const entry of walkChildren(dir, ignore)) {
    void entry;
    return true;
  }
  return false;
}
