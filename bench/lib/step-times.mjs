// Seconds a build spent in its network-bound steps (npm ci/install, apt-get), from a
// `--progress plain` log: tzbuild's and BuildKit's both print `#N [stage i/n] TEXT` when a step
// starts and `#N DONE 1.2s` (or `250ms`) when it ends. Steps of parallel stages overlap, so the
// sum can exceed the wall time they took together.
// Usage: node step-times.mjs LOG   prints the sum in seconds, three decimals.
import { readFileSync } from 'node:fs';

const network = /\b(npm (ci|install)|apt-get)\b/;
const texts = new Map();
let total = 0;
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  const start = /^#(\d+) \[[^\]]*\] (.*)$/.exec(line);
  if (start) texts.set(start[1], start[2]);
  const done = /^#(\d+) DONE ([\d.]+)(ms|s)\b/.exec(line);
  if (done && network.test(texts.get(done[1]) ?? '')) total += Number(done[2]) / (done[3] === 'ms' ? 1000 : 1);
}
process.stdout.write(`${total.toFixed(3)}\n`);
