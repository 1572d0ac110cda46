// Fails when a line of the project's own code is longer than 120 characters. Biome wraps code at
// that width but leaves long strings and comments alone; this catches those.
// Usage: node scripts/line-length.mjs (run by `npm run lint`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync('git', ['ls-files', '*.ts', '*.tsx', '*.mjs', '*.sh', '*.pl', 'bin/tzbuild'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => file !== '' && !file.startsWith('test/e2e/parity/corpus/'));
const long = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, index) => ([...line].length > MAX ? [`${file}:${index + 1}: ${[...line].length} characters`] : [])),
);
for (const line of long) process.stderr.write(`${line}\n`);
if (long.length > 0) {
  process.stderr.write(`${long.length} line(s) over ${MAX} characters\n`);
  process.exit(1);
}
