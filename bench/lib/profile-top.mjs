// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per package or
// source file, biggest first. Usage: node profile-top.mjs FILE.cpuprofile [ROWS]
import { readFileSync } from 'node:fs';

const [file, rowsArg = '20'] = process.argv.slice(2);
const rows = Number(rowsArg);
const profile = JSON.parse(readFileSync(file, 'utf8'));

// Sample i lasted timeDeltas[i + 1] microseconds (the last one is unknown and left out).
const selfMicros = new Map();
for (let i = 0; i < profile.samples.length - 1; i++) {
  const id = profile.samples[i];
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}

/** node_modules/<pkg>, dist/<file>, node:<module>, or the V8 pseudo-frame name. */
function where(url, name) {
  if (!url) return `(${name || 'program'})`;
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  const dist = url.match(/\/dist\/(.+)$/);
  if (dist) return dist[1];
  return url.replace(/^file:\/\//, '');
}

const byFunction = new Map();
const byPlace = new Map();
let total = 0;
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0;
  if (micros === 0) continue;
  total += micros;
  const { functionName, url, lineNumber } = node.callFrame;
  const place = where(url, functionName);
  const fn = `${functionName || '(anonymous)'}  ${place}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
}

function print(title, map) {
  console.log(`\n${title}`);
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(
      `${(micros / 1000).toFixed(1).padStart(9)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`,
    );
  }
}

console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
print('self time by package / file', byPlace);
print('self time by function', byFunction);
