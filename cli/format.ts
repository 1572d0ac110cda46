/** Human formats shared by the CLI's tables and progress lines (Docker's units). */

/** Bytes in Docker's style: `0B`, `1.2kB`, `3.45MB` (powers of 1000). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value}B`;
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** `2 minutes ago`-style age, like `docker images`. */
export function formatAge(iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return 'N/A';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [4.35, 'week'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  let value = seconds;
  for (const [size, name] of steps) {
    if (value < size)
      return value <= 1 && name === 'second'
        ? 'Less than a second ago'
        : `${Math.floor(value)} ${name}${Math.floor(value) === 1 ? '' : 's'} ago`;
    value /= size;
  }
  return 'a long time ago';
}

/** Left-aligned columns separated by three spaces, like Docker's tables. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

/** A layer being pulled, as BuildKit shows it: `sha256:1a2b3c4d5e6f 12.3MB / 45.6MB`, `… done`. */
export function pullLine(pull: {
  layer?: string;
  digest?: string;
  phase: string;
  bytes: number;
  total: number;
}): string {
  const id = (pull.layer ?? pull.digest ?? '').slice(0, 19);
  if (pull.phase === 'exists') return `${id} already in the store`;
  if (pull.phase === 'done') return `${id} ${formatBytes(pull.total)} done`;
  return `${id} ${formatBytes(pull.bytes)} / ${formatBytes(pull.total)}`;
}
