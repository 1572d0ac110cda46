/**
 * The registry commands end to end through the compiled CLI: login (verified, stored 0600 in
 * Docker's config format), push, pull into another store, logout.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runNodeScript, runTzbuild, tempStore, type CliOptions } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { buildTestImage, tempDir } from './fixtures.js';
import { useRegistry } from './registry-server.js';

const user = { username: 'cli-user', password: 'cli-pa55word' };
const registry = useRegistry({ auth: user });
const script = path.join(repoRoot, 'test/e2e/registry/fixtures/tzbuild-registry.mjs');
let sourceRoot: string;
let configDir: string;

const tzbuild = (args: string[], root: string, options: CliOptions = {}) =>
  runNodeScript(script, args, { ...options, env: { TZBUILD_ROOT: root, DOCKER_CONFIG: configDir, ...options.env } });

beforeAll(async () => {
  sourceRoot = await tempStore();
  configDir = path.join(await tempDir('tzb-cli-docker-'), 'docker');
  await buildTestImage(sourceRoot, 'app:1', 'cli', 512 * 1024);
});

describe('tzbuild login / push / pull / logout', () => {
  it('login refuses a wrong password and stores nothing', async () => {
    const result = await tzbuild(['login', registry().host, '-u', user.username, '--password-stdin'], sourceRoot, {
      input: 'wrong\n',
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`error: registry ${registry().host}: /v2/: the credentials were refused`);
    expect(result.stderr).not.toContain('wrong');
    await expect(stat(path.join(configDir, 'config.json'))).rejects.toThrow();
  });

  it("login verifies and stores credentials in Docker's format, 0600", async () => {
    const result = await tzbuild(['login', registry().host, '-u', user.username, '--password-stdin'], sourceRoot, {
      input: `${user.password}\n`,
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'Login Succeeded\n' });
    const file = path.join(configDir, 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    const config = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[registry().host]?.auth ?? '', 'base64').toString()).toBe(
      `${user.username}:${user.password}`,
    );
  });

  it('push, push again (nothing to do), pull into an empty store: same image ID', async () => {
    const name = `${registry().host}/cli/app:1`;
    expect((await runTzbuild(['tag', 'app:1', name], { env: { TZBUILD_ROOT: sourceRoot } })).exitCode).toBe(0);
    const first = await tzbuild(['push', name], sourceRoot);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^${name.replace(/[.:/]/g, '\\$&')}: digest: sha256:[a-f0-9]{64}\\n$`));
    expect(first.stderr).toContain('3 uploaded, 0 mounted, 0 already there, 2 layers compressed');
    const second = await tzbuild(['push', name], sourceRoot);
    expect(second.stderr).toContain('0 uploaded, 0 mounted, 3 already there, 0 layers compressed');
    expect(second.stdout).toBe(first.stdout);

    const targetRoot = await tempStore();
    const pulled = await tzbuild(['pull', name], targetRoot);
    expect(pulled).toMatchObject({ exitCode: 0, stdout: `${name}\n` });
    const inspect = async (root: string, ref: string) =>
      (JSON.parse((await runTzbuild(['inspect', ref], { env: { TZBUILD_ROOT: root } })).stdout) as { Id: string }[])[0]
        ?.Id;
    expect(await inspect(targetRoot, name)).toBe(await inspect(sourceRoot, 'app:1'));
    expect(pulled.stderr).toContain(`Image ID: ${await inspect(sourceRoot, 'app:1')}`);
  });

  it('push --compression zstd and bad flags', async () => {
    const name = `${registry().host}/cli/zstd:1`;
    await runTzbuild(['tag', 'app:1', name], { env: { TZBUILD_ROOT: sourceRoot } });
    const zstd = await tzbuild(['push', '--compression', 'zstd', '--compression-level', '9', '-q', name], sourceRoot);
    expect(zstd.exitCode).toBe(0);
    expect(zstd.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    const badLevel = await tzbuild(['push', '--compression-level', '42', name], sourceRoot);
    expect(badLevel).toMatchObject({ exitCode: 1, stderr: 'error: gzip compression level must be 1-9, not 42\n' });
    const missing = await tzbuild(['push', `${registry().host}/cli/missing:1`], sourceRoot);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`image not found: ${registry().host}/cli/missing:1`);
    const badRef = await tzbuild(['pull', 'Bad//Name'], sourceRoot);
    expect(badRef).toMatchObject({ exitCode: 1 });
    expect(badRef.stderr).toContain('invalid image reference "Bad//Name"');
  });

  it('logout forgets the credentials; the registry then asks for a login', async () => {
    const logout = await tzbuild(['logout', registry().host], sourceRoot);
    expect(logout).toMatchObject({ exitCode: 0, stdout: `Removing login credentials for ${registry().host}\n` });
    const config = JSON.parse(await readFile(path.join(configDir, 'config.json'), 'utf8')) as { auths: object };
    expect(config.auths).toEqual({});
    expect((await tzbuild(['logout', registry().host], sourceRoot)).stdout).toBe(
      `Not logged in to ${registry().host}\n`,
    );
    const pull = await tzbuild(['pull', `${registry().host}/cli/app:1`], await tempStore());
    expect(pull.exitCode).toBe(1);
    expect(pull.stderr).toContain(`run \`tzbuild login ${registry().host}\``);
  });
});
