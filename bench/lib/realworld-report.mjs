// The Markdown table of bench/realworld.sh: median seconds per app, phase and tool, and the ratio.
// Usage: node realworld-report.mjs RAW.tsv COMMIT N LOAD (RAW rows: tool, app, phase, seconds,
// seconds in network-bound steps, max RSS in KB for tzbuild).
import { readFileSync } from 'node:fs';

const [rawFile, commit, runs, load] = process.argv.slice(2);
const rows = readFileSync(rawFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => line.split('\t'))
  .map(([tool, app, phase, seconds, network, rssKb]) => ({
    tool,
    app,
    phase,
    seconds: Number(seconds),
    // Time outside the npm ci / apt-get steps (their sum; parallel stages can overlap them).
    offline: network === undefined ? undefined : Number(seconds) - Number(network),
    rssKb: rssKb ? Number(rssKb) : undefined,
  }));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? undefined : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const pick = (tool, app, phase, field) =>
  rows
    .filter((r) => r.tool === tool && r.app === app && r.phase === phase && r[field] !== undefined)
    .map((r) => r[field]);
const time = (tool, app, phase) => median(pick(tool, app, phase, 'seconds'));
const offline = (tool, app, phase) => median(pick(tool, app, phase, 'offline'));
const peak = (app, phase) => {
  const values = pick('tzbuild', app, phase, 'rssKb');
  return values.length === 0 ? '–' : (Math.max(...values) / 1024).toFixed(0);
};
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
  'Outside network steps: the wall time minus the npm ci / apt-get steps (summed from the build log).',
  '',
  '| Dockerfile | phase | tzbuild (s) | BuildKit (s) | tzbuild/BuildKit | outside network steps: tzbuild / ' +
    'BuildKit (s) | ratio | tzbuild peak RSS (MB) |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
];
for (const app of [...new Set(rows.map((r) => r.app))]) {
  for (const [phase, label] of phases) {
    const tz = time('tzbuild', app, phase);
    const bk = time('buildkit', app, phase);
    const [tzOff, bkOff] = [offline('tzbuild', app, phase), offline('buildkit', app, phase)];
    lines.push(
      `| ${app} | ${label} | ${secs(tz)} | ${secs(bk)} | ${ratio(tz, bk)} | ${secs(tzOff)} / ${secs(bkOff)} | ` +
        `${ratio(tzOff, bkOff)} | ${peak(app, phase)} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
