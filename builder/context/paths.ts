/** Slash-path helpers with Go's `path.Clean` rules (Docker's path handling is Go's). */

/**
 * Go's `path.Clean`: collapses `//`, `.` and `dir/..`; keeps a leading `/`; `..` above a rooted
 * path disappears, above a relative path it stays; an empty result is `.`.
 */
export function cleanPath(input: string): string {
  const rooted = input.startsWith('/');
  const out: string[] = [];
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!rooted) out.push('..');
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Joins slash paths relative to the context root, where `.` is the root itself. */
export function joinRel(dir: string, name: string): string {
  return dir === '.' || dir === '' ? name : `${dir}/${name}`;
}

/** The parent of a context-relative path (`.` for a top-level name). */
export function parentRel(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '.' : rel.slice(0, slash);
}
