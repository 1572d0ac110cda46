/**
 * Resolving COPY/ADD source paths inside the context. Symlinks met on the way are followed only
 * while they stay inside the context root: the context is all the build may see.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ContextError } from '../../core/errors.js';
import { escapes } from './errors.js';
import { globMatch, hasWildcard } from './glob.js';
import { cleanPath, joinRel } from './paths.js';

/** Linux's own limit on symlinks followed while resolving one path. */
const MAX_LINKS = 40;

/** A context-relative path after following symlinks; `stat` is undefined when it does not exist. */
export interface ScopedPath {
  rel: string;
  stat: Stats | undefined;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * How symlinks are scoped. `context`: an absolute target is a host path that must point into the
 * root. `rootfs`: the root is `/` for the links (an image's filesystem, as a chroot sees it), so
 * absolute targets start at the root and `..` stops there.
 */
export type LinkScope = 'context' | 'rootfs';

/** The parts a link target adds to the walk; in `context` scope an absolute target must point into the root. */
function targetParts(
  root: string,
  linkRel: string,
  target: string,
  shown: string,
  scope: LinkScope,
): { parts: string[]; fromRoot: boolean } {
  if (!path.isAbsolute(target)) return { parts: target.split('/'), fromRoot: false };
  if (scope === 'rootfs') return { parts: target.split('/'), fromRoot: true };
  const inside = path.relative(root, target);
  if (inside === '..' || inside.startsWith('../') || path.isAbsolute(inside)) {
    throw escapes(shown, `symlink ${linkRel} points to ${target}`);
  }
  return { parts: inside.split('/'), fromRoot: true };
}

/**
 * Resolves `rel` (clean, relative) under `root`, following symlinks in every parent and, when
 * `followLast`, in the last component. `shown` is the path as the user wrote it, for messages.
 * @throws ContextError when a step leaves the root or there are too many links.
 */
export async function resolveScoped(
  root: string,
  rel: string,
  followLast: boolean,
  shown: string,
  scope: LinkScope = 'context',
): Promise<ScopedPath> {
  const done: string[] = [];
  const todo = rel.split('/');
  let links = 0;
  let stat = await lstat(root);
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (done.length === 0) {
        if (scope === 'rootfs') continue;
        throw escapes(shown, 'a symlink leads above the context root');
      }
      done.pop();
      stat = await lstat(path.join(root, ...done));
      continue;
    }
    done.push(part);
    const found = await lstatOrUndefined(path.join(root, ...done));
    if (found === undefined) return { rel: [...done, ...todo].join('/'), stat: undefined };
    stat = found;
    const isLast = todo.every((p) => p === '' || p === '.');
    if (!found.isSymbolicLink() || (isLast && !followLast)) continue;
    if (++links > MAX_LINKS) throw escapes(shown, 'too many levels of symbolic links');
    const linkRel = done.join('/');
    const target = targetParts(root, linkRel, await readlink(path.join(root, ...done)), shown, scope);
    done.pop();
    if (target.fromRoot) done.length = 0;
    todo.unshift(...target.parts);
  }
  return { rel: done.length === 0 ? '.' : done.join('/'), stat };
}

/**
 * Cleans a source word: a leading `/` means the context root, `..` above it is refused.
 * @throws ContextError for a path that leaves the context.
 */
export function cleanSource(source: string): string {
  const cleaned = cleanPath(source.replace(/^\/+/, '') || '.');
  if (cleaned === '..' || cleaned.startsWith('../')) throw escapes(source, 'it is above the context root');
  return cleaned;
}

/**
 * For wildcard matches: a path that leads outside the context is simply not in it, so it is
 * skipped rather than failing the whole pattern.
 */
export function skipEscapes(error: unknown): undefined {
  if (error instanceof ContextError && error.code === 'CONTEXT_ESCAPE') return undefined;
  throw error;
}

/** Removes glob escapes from a segment that has no wildcard (`a\[1\]` → `a[1]`). */
function unescapeSegment(segment: string): string {
  return segment.replace(/\\(.)/gu, '$1');
}

/**
 * Expands a cleaned source with wildcards, one path segment at a time (`*` never crosses `/`,
 * as in Go's filepath.Match). Returns the matching context paths, unresolved, sorted by name.
 */
export async function expandWildcards(
  root: string,
  cleaned: string,
  shown: string,
  scope: LinkScope = 'context',
): Promise<string[]> {
  let candidates = ['.'];
  for (const segment of cleaned.split('/')) {
    const next: string[] = [];
    for (const dir of candidates) {
      if (!hasWildcard(segment)) {
        next.push(joinRel(dir, unescapeSegment(segment)));
        continue;
      }
      const resolved = await resolveScoped(root, dir, true, shown, scope).catch(skipEscapes);
      if (resolved?.stat?.isDirectory() !== true) continue;
      const names = (await readdir(path.join(root, resolved.rel))).sort();
      for (const name of names) if (globMatch(segment, name)) next.push(joinRel(dir, name));
    }
    candidates = next;
  }
  return candidates;
}
