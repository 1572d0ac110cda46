// The test command's closing line, from vitest's JSON report: `N passed, N failed, N skipped`.
// Usage: node scripts/test-summary.mjs REPORT.json (run by scripts/test.sh).
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
