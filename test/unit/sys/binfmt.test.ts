/** The emulator check over a fake binfmt_misc dir: each way a foreign platform can lack one. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingEmulator, runsNatively } from '../../../sys/binfmt.js';
import { tempDir } from '../../helpers/layers.js';

/** A binfmt_misc dir holding `handlers` (name → the file's text) and a status. */
async function fakeBinfmt(handlers: Record<string, string>, status = 'enabled'): Promise<string> {
  const dir = path.join(await tempDir(), 'binfmt_misc');
  await mkdir(dir);
  await writeFile(path.join(dir, 'status'), `${status}\n`);
  await writeFile(path.join(dir, 'register'), '');
  for (const [name, text] of Object.entries(handlers)) await writeFile(path.join(dir, name), text);
  return dir;
}

const aarch64 = (flags: string, state = 'enabled') =>
  `${state}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: ${flags}\noffset 0\n` +
  'magic 7f454c460201010000000000000000000200b700\n';

describe('missingEmulator', () => {
  it("needs nothing for the host's own architecture, or 386 on amd64", async () => {
    const empty = await fakeBinfmt({});
    expect(missingEmulator('amd64', empty, 'amd64')).toBeUndefined();
    expect(missingEmulator('386', empty, 'amd64')).toBeUndefined();
    expect(runsNatively('arm64', 'amd64')).toBe(false);
  });

  it('accepts a registered, enabled handler with the fix-binary flag', async () => {
    expect(missingEmulator('arm64', await fakeBinfmt({ 'qemu-aarch64': aarch64('PF') }), 'amd64')).toBeUndefined();
  });

  it('says how to install one when none is registered', async () => {
    expect(missingEmulator('arm64', await fakeBinfmt({}), 'amd64')).toBe(
      'no binfmt_misc handler qemu-aarch64 is registered ' +
        '(apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64)',
    );
  });

  it('refuses a handler without F (it would look for qemu inside the container) or disabled', async () => {
    expect(missingEmulator('arm64', await fakeBinfmt({ 'qemu-aarch64': aarch64('P') }), 'amd64')).toMatch(
      /^the binfmt_misc handler qemu-aarch64 lacks the fix-binary flag F/,
    );
    expect(missingEmulator('arm64', await fakeBinfmt({ 'qemu-aarch64': aarch64('PF', 'disabled') }), 'amd64')).toMatch(
      /^the binfmt_misc handler qemu-aarch64 is disabled/,
    );
  });

  it('says when binfmt_misc is not mounted or is off', async () => {
    const notMounted = path.join(await tempDir(), 'nothing');
    expect(missingEmulator('arm64', notMounted, 'amd64')).toMatch(/^binfmt_misc is not mounted \(mount -t binfmt_misc/);
    expect(missingEmulator('arm64', await fakeBinfmt({}, 'disabled'), 'amd64')).toMatch(/^binfmt_misc is disabled/);
  });

  it('names an architecture no qemu is known for', async () => {
    expect(missingEmulator('sparc64', await fakeBinfmt({}), 'amd64')).toBe(
      'no emulator is known for architecture sparc64',
    );
  });
});
