/**
 * acquireLock through the lock helper, in one process: two holders exclude each other as two
 * processes would, shared locks share, waits end by timeout or abort, and a released lock is free
 * at once. (Cross-process behaviour and SIGKILL: test/e2e/store/locks-and-recovery.test.ts.)
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../../sys/file-lock.js';
import { tempDir } from '../../helpers/layers.js';

const lockFile = async () => path.join(await tempDir('tzb-lock-'), 'sub', 'l');

describe('acquireLock', () => {
  it('excludes a second exclusive holder in the same process until release', async () => {
    const file = await lockFile();
    const first = await acquireLock(file);
    expect(await acquireLock(file, { noWait: true })).toBeUndefined();
    let secondHeld = false;
    const second = acquireLock(file).then((lock) => {
      secondHeld = true;
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(secondHeld).toBe(false);
    await first!.release();
    const lock = await second;
    expect(secondHeld).toBe(true);
    await lock!.release();
    await lock!.release(); // twice is harmless
  });

  it('lets shared holders share and keeps an exclusive one out', async () => {
    const file = await lockFile();
    const a = await acquireLock(file, { shared: true });
    const b = await acquireLock(file, { shared: true, noWait: true });
    expect(b).toBeDefined();
    expect(await acquireLock(file, { noWait: true })).toBeUndefined();
    await a!.release();
    await b!.release();
    const exclusive = await acquireLock(file, { noWait: true });
    expect(exclusive).toBeDefined();
    await exclusive!.release();
  });

  it('gives up after a timeout, or when the signal aborts', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    await expect(acquireLock(file, { timeoutMs: 100 })).rejects.toThrow(/timed out waiting for lock/);
    const controller = new AbortController();
    const waiting = acquireLock(file, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop waiting')), 50);
    await expect(waiting).rejects.toThrow('stop waiting');
    await held!.release();
    // The abandoned request did not take the lock behind our back.
    const free = await acquireLock(file, { noWait: true });
    expect(free).toBeDefined();
    await free!.release();
  });

  it('refuses a path with a newline', async () => {
    await expect(acquireLock(path.join(await tempDir('tzb-lock-'), 'a\nb'))).rejects.toThrow(/newline or NUL/);
  });
});
