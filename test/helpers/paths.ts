/** Fixed places the test helpers share. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `test/helpers/`). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Gitignored cache for expensive test fixtures (busybox rootfs, archives), reused across runs. */
export const testCacheDir = path.join(repoRoot, '.tzbuild-test');

/** The read-only conformance corpus shared by all engineers. */
export const conformanceDir = path.resolve(repoRoot, '../shared/conformance');

/** Small real files the tests use (fake credential helpers, a test CLI). */
export const fixturesDir = path.join(repoRoot, 'test/helpers/fixtures');
