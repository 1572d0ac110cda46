// How fast `tzbuild check --format json` is on a 100-line Dockerfile: fast enough to run on every
// save in an editor? Writes a generated 100-line, four-stage Dockerfile (heredoc, continuations,
// a few findings) and a small context into a temp dir, then measures
//   - the check itself in-process (gather the inputs + run every rule; the store is not there,
//     as for a file never built): median and p95 of RUNS calls after 20 warm-up calls, and the
//     first (cold) call;
//   - the whole command, `node bin/tzbuild check --format json`, wall time of RUNS runs, next to
//     `node bin/tzbuild --version` (Node's start and the CLI's loading alone).
// Usage: node bench/check-speed.mjs [RUNS]   (default 200 in-process, RUNS/10 commands; needs
// `npm run build` first). Results go to stdout as a small table (docs/benchmarks.md).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 200);
const dist = (module) => pathToFileURL(path.join(repo, 'dist', module)).href;

/** A realistic Dockerfile of exactly 100 lines. */
function dockerfile() {
  const lines = [
    '# syntax=docker/dockerfile:1',
    'ARG NODE_VERSION=20',
    'ARG ALPINE_VERSION=3.20',
    'FROM node:${NODE_VERSION}-alpine AS deps',
    'WORKDIR /app',
    'COPY package.json package-lock.json ./',
    'RUN --mount=type=cache,target=/root/.npm npm ci',
    '',
    'FROM deps AS build',
    'COPY . .',
    'ENV NODE_ENV production',
    'RUN npm run build && \\',
    '    npm prune --omit=dev',
    '',
    'FROM alpine:${ALPINE_VERSION} AS tools',
    'RUN apk add --no-cache curl jq tini',
    'COPY <<EOF /usr/local/bin/healthcheck',
    '#!/bin/sh',
    'curl -fsS http://localhost:8080/health',
    'EOF',
    '',
    'FROM node:${NODE_VERSION}-alpine',
    'ARG BUILD_DATE',
    'LABEL org.opencontainers.image.created=$BUILD_DATE',
  ];
  for (let n = 1; lines.length < 93; n++) {
    lines.push(
      `ENV SETTING_${n}=value-${n}`,
      `RUN echo "step ${n}" >> /var/log/steps`,
      `COPY --from=build /app/dist/part${n} /app/part${n}/`,
    );
  }
  lines.push('EXPOSE 8080/TCP', 'USER node', 'WORKDIR /app', 'COPY --from=tools /usr/bin/tini /sbin/tini');
  lines.push(
    'HEALTHCHECK CMD ["/usr/local/bin/healthcheck"]',
    'ENTRYPOINT ["/sbin/tini", "--"]',
    'CMD node dist/server.js',
  );
  return `${lines.slice(0, 100).join('\n')}\n`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const work = mkdtempSync(path.join(os.tmpdir(), 'tzbuild-check-bench-'));
try {
  const context = path.join(work, 'ctx');
  mkdirSync(path.join(context, 'src'), { recursive: true });
  const text = dockerfile();
  writeFileSync(path.join(context, 'Dockerfile'), text);
  writeFileSync(path.join(context, 'package.json'), '{}\n');
  writeFileSync(path.join(context, 'src', 'index.js'), 'console.log(1)\n');
  writeFileSync(path.join(context, '.dockerignore'), 'node_modules\n.git\n');
  const lineCount = text.split('\n').length - 1;

  const { gatherInputs } = await import(dist('checks/gather.js'));
  const { checkDockerfile } = await import(dist('checks/run.js'));
  const { allRules } = await import(dist('checks/rule-table.js'));
  // A new Dockerfile object each call, as each command reads the file anew (no parse is reused).
  const once = async () => {
    const started = performance.now();
    const dockerfile = { text, name: 'Dockerfile' };
    const inputs = await gatherInputs({ dockerfile, contextDir: context, listContext: true });
    const gathered = performance.now();
    const report = checkDockerfile(inputs, { rules: allRules });
    const ended = performance.now();
    return {
      ms: ended - started,
      gatherMs: gathered - started,
      checkMs: ended - gathered,
      findings: report.findings.length,
    };
  };
  const cold = await once();
  for (let n = 0; n < 20; n++) await once();
  const samples = [];
  for (let n = 0; n < runs; n++) samples.push(await once());
  const times = samples.map((sample) => sample.ms);
  const gather = samples.map((sample) => sample.gatherMs);
  const rules = samples.map((sample) => sample.checkMs);

  const wall = (args) => {
    const samples = [];
    for (let n = 0; n < Math.max(5, Math.round(runs / 10)); n++) {
      const started = performance.now();
      execFileSync(process.execPath, [path.join(repo, 'bin/tzbuild'), ...args], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, TZBUILD_ROOT: path.join(work, 'no-store') },
      });
      samples.push(performance.now() - started);
    }
    return samples;
  };
  // The check exits 0 here: its findings are warnings and advice.
  const command = wall(['check', '--format', 'json', context]);
  const version = wall(['--version']);

  const ms = (value) => `${value.toFixed(2)} ms`;
  console.log(
    `Dockerfile: ${lineCount} lines, ${cold.findings} findings; ${os.cpus().length} CPUs, Node ${process.version}`,
  );
  console.log('| measure | median | p95 |');
  console.log('| --- | ---: | ---: |');
  const row = (label, values) => console.log(`| ${label} | ${ms(median(values))} | ${ms(percentile(values, 0.95))} |`);
  row(`check in-process, warm (${runs} calls)`, times);
  row('… reading the ignore file and the context', gather);
  row('… parsing, every rule, the planner', rules);
  console.log(`| check in-process, first call | ${ms(cold.ms)} | |`);
  row(`\`tzbuild check --format json\` (${command.length} runs)`, command);
  row(`\`tzbuild --version\` (${version.length} runs)`, version);
} finally {
  rmSync(work, { recursive: true, force: true });
}
