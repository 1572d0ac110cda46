// Turns the benchmark's raw timings into the Markdown report (bench/results/latest.md).
// Usage: node report.mjs RAW.tsv META.tsv
// RAW rows: tool, context, phase (cold|noop|onefile), run, seconds, steps run, max RSS in KB (those
// two for tzbuild and ref only).
// Tool `ref` is a second tzbuild checkout (BENCH_REF): its own table compares the two.
// META rows: key, value (machine, versions, context descriptions as context:NAME).
import { readFileSync } from 'node:fs';

const [rawFile, metaFile] = process.argv.slice(2);
const rows = readTsv(rawFile).map(([tool, context, phase, run, seconds, steps, rssKb]) => ({
  tool,
  context,
  phase,
  run: Number(run),
  seconds: Number(seconds),
  steps,
  rssKb: rssKb ? Number(rssKb) : undefined,
}));
const meta = new Map(readTsv(metaFile).map(([key, ...value]) => [key, value.join('\t')]));

const PHASES = [
  ['cold', 'cold (empty cache)'],
  ['noop', 'no-op rebuild'],
  ['onefile', 'one file changed'],
];
const contexts = [...new Set(rows.map((row) => row.context))];
const has = (tool) => rows.some((row) => row.tool === tool);

function readTsv(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}

function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timing(tool, context, phase) {
  return median(
    rows.filter((r) => r.tool === tool && r.context === context && r.phase === phase).map((r) => r.seconds),
  );
}

/** The distinct "steps run" counts tzbuild reported, e.g. "4" or "4/5" when runs differed. */
function stepsRun(context, phase) {
  const counts = rows
    .filter((r) => r.tool === 'tzbuild' && r.context === context && r.phase === phase)
    .map((r) => r.steps);
  return [...new Set(counts.filter((c) => c !== ''))].join('/') || '–';
}

const secs = (value) => (value === undefined ? '–' : value.toFixed(2));
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);

function resultTable() {
  const lines = [
    '| context | phase | tzbuild (s) | BuildKit (s) | legacy (s) | tzbuild/BuildKit | tzbuild/legacy | tzbuild steps ' +
      'run |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const context of contexts.filter((c) => rows.some((r) => r.context === c && r.tool !== 'reference'))) {
    for (const [phase, label] of PHASES) {
      const [tz, bk, legacy] = ['tzbuild', 'buildkit', 'legacy'].map((tool) => timing(tool, context, phase));
      lines.push(
        `| ${context} | ${label} | ${secs(tz)} | ${secs(bk)} | ${secs(legacy)} | ${ratio(tz, bk)} | ` +
          `${ratio(tz, legacy)} | ${stepsRun(context, phase)} |`,
      );
    }
  }
  const reference = timing('reference', 'big', 'cold');
  if (reference !== undefined)
    lines.push(`| big | \`tar c \\| sha256sum\` (reference) | ${secs(reference)} | | | | | |`);
  return lines;
}

/** With BENCH_REF: this checkout beside the reference checkout (and BuildKit), same run. */
function refTable() {
  if (!has('ref')) return [];
  const lines = [
    '',
    `Before/after: tzbuild at ${meta.get('commit')} (after) beside the reference checkout at ${meta.get('ref')} ` +
      `(before), interleaved per context.`,
    '',
    '| context | phase | before (s) | after (s) | after/before | before/BuildKit | after/BuildKit |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const context of contexts.filter((c) => rows.some((r) => r.context === c && r.tool === 'ref'))) {
    for (const [phase, label] of PHASES) {
      const [before, after, bk] = ['ref', 'tzbuild', 'buildkit'].map((tool) => timing(tool, context, phase));
      lines.push(
        `| ${context} | ${label} | ${secs(before)} | ${secs(after)} | ${ratio(after, before)} | ${ratio(before, bk)} ` +
          `| ${ratio(after, bk)} |`,
      );
    }
  }
  return lines;
}

/** The highest max RSS of a tool's runs of one context and phase, in MB. */
function peakMb(tool, context, phase) {
  const values = rows
    .filter((r) => r.tool === tool && r.context === context && r.phase === phase && r.rssKb !== undefined)
    .map((r) => r.rssKb);
  return values.length === 0 ? undefined : Math.max(...values) / 1024;
}

/** tzbuild's (and the reference checkout's) peak memory per context and phase. */
function memoryTable() {
  if (!rows.some((r) => r.rssKb !== undefined)) return [];
  const tools = ['tzbuild', 'ref'].filter(has);
  const lines = [
    '',
    `Peak memory: the highest max RSS (GNU time) of the runs, MB (${tools.join(', ')}).`,
    '',
    `| context | ${PHASES.map(([, label]) => label).join(' | ')} |`,
    `|---|${PHASES.map(() => '---:').join('|')}|`,
  ];
  const mb = (value) => (value === undefined ? '–' : value.toFixed(0));
  for (const context of contexts.filter((c) => rows.some((r) => r.context === c && r.rssKb !== undefined))) {
    const cells = PHASES.map(([phase]) => tools.map((tool) => mb(peakMb(tool, context, phase))).join(' / '));
    lines.push(`| ${context} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** Issue #20's targets (tzbuild / BuildKit, same run): COPY→RUN, no-op, peak memory. */
function shapeTargets() {
  const lines = [];
  const bounds = [
    ['bigrun', 'onefile', 0.6],
    ['bigrun', 'cold', 0.8],
    ...contexts.map((context) => [context, 'noop', 0.7]),
  ];
  for (const [context, phase, bound] of bounds) {
    const tz = timing('tzbuild', context, phase);
    const bk = timing('buildkit', context, phase);
    if (tz === undefined || bk === undefined) continue;
    const verdict = tz <= bound * bk ? 'met' : '**missed**';
    lines.push(`- ${context}, ${phase}: ${ratio(tz, bk)} of BuildKit (target ≤ ${bound}×): ${verdict}`);
  }
  for (const context of ['big', 'bigrun']) {
    const peaks = PHASES.map(([phase]) => peakMb('tzbuild', context, phase)).filter((v) => v !== undefined);
    if (peaks.length === 0) continue;
    const peak = Math.max(...peaks);
    lines.push(`- ${context}, peak RSS ${peak.toFixed(0)} MB (target < 300 MB): ${peak < 300 ? 'met' : '**missed**'}`);
  }
  return lines;
}

/** The targets: every rebuild at or below BuildKit; the cold big COPY within 2× of the reference. */
function targetLines() {
  if (!has('tzbuild')) return [];
  const lines = [];
  if (has('buildkit')) {
    for (const context of contexts) {
      for (const phase of ['noop', 'onefile']) {
        const tz = timing('tzbuild', context, phase);
        const bk = timing('buildkit', context, phase);
        if (tz === undefined || bk === undefined) continue;
        const name = phase === 'noop' ? 'no-op' : 'one file changed';
        const verdict = tz <= bk ? 'met' : `**missed** (${ratio(tz, bk)})`;
        lines.push(`- ${context}, ${name}: tzbuild ${secs(tz)} s vs BuildKit ${secs(bk)} s: ${verdict}`);
      }
    }
  }
  const cold = timing('tzbuild', 'big', 'cold');
  const reference = timing('reference', 'big', 'cold');
  if (cold !== undefined && reference !== undefined) {
    const ok = cold <= 2 * reference;
    lines.push(
      `- big, cold COPY: tzbuild ${secs(cold)} s vs \`tar c | sha256sum\` ${secs(reference)} s = ` +
        `${ratio(cold, reference)} (target ≤ 2×): ${ok ? 'met' : '**missed**'}`,
    );
  }
  return lines;
}

const contextLines = contexts.map((c) => `- **${c}**: ${meta.get(`context:${c}`) ?? ''}`);
const output = [
  `# tzbuild benchmark — ${meta.get('date')}`,
  '',
  `Machine: ${meta.get('cpus')} CPUs (${meta.get('cpu')}), ${meta.get('memory')} RAM, ${meta.get('kernel')}, ` +
    `${meta.get('filesystem')}.`,
  `Node ${meta.get('node')}, dockerd ${meta.get('docker')}, tzbuild at ${meta.get('commit')}. Median of ` +
    `${meta.get('runs')} runs; wall-clock seconds.`,
  `Load average (1/5/15 min): ${meta.get('load')}.`,
  ...(meta.get('warning') ? ['', `Warning: ${meta.get('warning')}.`] : []),
  '',
  'Contexts:',
  ...contextLines,
  '',
  ...resultTable(),
  ...refTable(),
  ...memoryTable(),
  '',
  'Targets:',
  ...targetLines(),
  ...shapeTargets(),
  '',
];
process.stdout.write(output.join('\n'));
