// The Markdown table of bench/realworld.sh: median seconds per app, phase and tool, and the ratio.
// Usage: node realworld-report.mjs RAW.tsv COMMIT N LOAD (RAW rows: tool, app, phase, seconds).
import { readFileSync } from 'node:fs';

const [rawFile, commit, runs, load] = process.argv.slice(2);
const rows = readFileSync(rawFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => line.split('\t'))
  .map(([tool, app, phase, seconds]) => ({ tool, app, phase, seconds: Number(seconds) }));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? undefined : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const time = (tool, app, phase) =>
  median(rows.filter((r) => r.tool === tool && r.app === app && r.phase === phase).map((r) => r.seconds));
const secs = (value) => (value === undefined ? '–' : value.toFixed(2));
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);
const phases = [
  ['cold', 'cold (empty build cache, base present)'],
  ['noop', 'no-op rebuild'],
  ['onefile', 'one source file changed'],
];

const lines = [
  `tzbuild at ${commit}, median of ${runs}, load at the end ${load}; seconds, network included.`,
  '',
  '| Dockerfile | phase | tzbuild (s) | BuildKit (s) | tzbuild/BuildKit |',
  '|---|---|---:|---:|---:|',
];
for (const app of [...new Set(rows.map((r) => r.app))]) {
  for (const [phase, label] of phases) {
    const tz = time('tzbuild', app, phase);
    const bk = time('buildkit', app, phase);
    lines.push(`| ${app} | ${label} | ${secs(tz)} | ${secs(bk)} | ${ratio(tz, bk)} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
