/**
 * Throwaway host users for the rootless tests: created with useradd (with or without subordinate
 * ids), used to run `bin/tzbuild` through setpriv, and removed with their home (and the store in
 * it, whose files belong to subordinate ids) when the test file ends.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { tzbuildBin, type CliResult } from '../../helpers/cli.js';

/** A test user and its first subordinate uid/gid (undefined: it has none). */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  subuidStart?: number;
  subgidStart?: number;
}

/** The user's default store (`~/.local/share/tzbuild`). */
export function userStore(user: TestUser): string {
  return path.join(user.home, '.local', 'share', 'tzbuild');
}

/** Creates a user with a home; useradd allocates 65536 subordinate ids unless `subordinateIds` is false. */
export async function createUser(label: string, subordinateIds: boolean): Promise<TestUser> {
  const name = `tzbrl-${label}-${randomBytes(3).toString('hex')}`;
  const noSubIds = subordinateIds ? [] : ['-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0'];
  await execa('useradd', ['--create-home', '--shell', '/bin/sh', ...noSubIds, name]);
  const fields = (await execa('getent', ['passwd', name])).stdout.split(':');
  const user: TestUser = { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? `/home/${name}` };
  user.subuidStart = firstRange(await readFile('/etc/subuid', 'utf8').catch(() => ''), name);
  user.subgidStart = firstRange(await readFile('/etc/subgid', 'utf8').catch(() => ''), name);
  if (subordinateIds && (user.subuidStart === undefined || user.subgidStart === undefined)) {
    await removeUser(user);
    throw new Error(`useradd gave ${name} no subordinate ids (check SUB_UID_COUNT in /etc/login.defs)`);
  }
  return user;
}

/** Removes the user, its home and its /etc/subuid and /etc/subgid lines (userdel does all three). */
export async function removeUser(user: TestUser): Promise<void> {
  await execa('userdel', ['--remove', '--force', user.name], { reject: false });
}

/** Makes root-created files in the user's home its own. */
export async function giveToUser(user: TestUser, file: string): Promise<void> {
  await execa('chown', ['-R', `${user.uid}:${user.gid}`, file]);
}

/**
 * Runs `bin/tzbuild args…` as `user` in its home, with a clean login-like environment
 * (setpriv --reset-env: HOME, USER, PATH), so tzbuild picks its rootless defaults itself.
 */
export async function tzbuildAs(
  user: TestUser,
  args: readonly string[],
  options: { env?: Record<string, string> } = {},
): Promise<CliResult> {
  const extraEnv = Object.entries({ NO_COLOR: '1', ...options.env }).map(([key, value]) => `${key}=${value}`);
  const result = await execa(
    'setpriv',
    [
      '--reuid',
      String(user.uid),
      '--regid',
      String(user.gid),
      '--init-groups',
      '--reset-env',
      'env',
      ...extraEnv,
      process.execPath,
      tzbuildBin,
      ...args,
    ],
    { cwd: user.home, reject: false, stripFinalNewline: false, timeout: 120_000 },
  );
  return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
}

function firstRange(text: string, name: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}:`));
  return line === undefined ? undefined : Number(line.split(':')[1]);
}
