/** Docker's config.json and credential helpers: read, write (0600, other fields kept), erase. */
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eraseCredentials, lookupCredentials, storeCredentials } from '../../../registry/credentials.js';
import { tempDir } from '../../helpers/layers.js';
import { fixturesDir } from '../../helpers/paths.js';

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

async function configDirWith(config: object): Promise<string> {
  const dir = await tempDir('tzb-creds-');
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** A docker-credential-NAME that keeps one JSON file per server URL in its own dir (a fixture). */
async function fakeHelper(name: string): Promise<string> {
  const bin = await tempDir('tzb-helper-bin-');
  const vault = path.join(bin, 'vault');
  await copyFile(path.join(fixturesDir, 'docker-credential-vault.sh'), path.join(bin, `docker-credential-${name}`));
  await chmod(path.join(bin, `docker-credential-${name}`), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
  return vault;
}

describe('config.json auths', () => {
  it('reads auth, username/password and identity tokens, matching keys written as URLs', async () => {
    const dir = await configDirWith({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
        'http://127.0.0.1:5000': { username: 'u', password: 'p' },
        'ghcr.io': { identitytoken: 'refresh-me' },
      },
    });
    expect(await lookupCredentials('docker.io', { configDir: dir })).toEqual({
      username: 'hub',
      password: 'pw:with:colons',
    });
    expect(await lookupCredentials('127.0.0.1:5000', { configDir: dir })).toEqual({ username: 'u', password: 'p' });
    expect(await lookupCredentials('ghcr.io', { configDir: dir })).toEqual({
      username: '',
      identityToken: 'refresh-me',
    });
    expect(await lookupCredentials('quay.io', { configDir: dir })).toBeUndefined();
    expect(await lookupCredentials('quay.io', { configDir: path.join(dir, 'nope') })).toBeUndefined();
  });

  it('writes 0600, keeps the other fields, and erases', async () => {
    const dir = await configDirWith({ auths: { 'other.io': { auth: 'eDp5' } }, psFormat: 'table' });
    await storeCredentials('docker.io', { username: 'me', password: 'pw' }, { configDir: dir });
    const file = path.join(dir, 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(written).toEqual({
      auths: {
        'other.io': { auth: 'eDp5' },
        'https://index.docker.io/v1/': { auth: Buffer.from('me:pw').toString('base64') },
      },
      psFormat: 'table',
    });
    expect(await lookupCredentials('docker.io', { configDir: dir })).toEqual({ username: 'me', password: 'pw' });
    expect(await eraseCredentials('docker.io', { configDir: dir })).toBe(true);
    expect(await eraseCredentials('docker.io', { configDir: dir })).toBe(false);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      auths: { 'other.io': { auth: 'eDp5' } },
      psFormat: 'table',
    });
  });

  it('a malformed config.json is a clear error', async () => {
    const dir = await tempDir('tzb-creds-');
    await writeFile(path.join(dir, 'config.json'), '{not json');
    await expect(lookupCredentials('docker.io', { configDir: dir })).rejects.toThrow(
      `${path.join(dir, 'config.json')} is not valid JSON`,
    );
  });
});

describe('credential helpers', () => {
  it('store, get and erase go through the helper; config.json keeps only an empty marker', async () => {
    const vault = await fakeHelper('vaulty');
    const dir = await configDirWith({ credsStore: 'vaulty' });
    await storeCredentials('registry.test:5000', { username: 'alice', password: 'hunter2' }, { configDir: dir });
    const config = await readFile(path.join(dir, 'config.json'), 'utf8');
    expect(config).not.toContain('hunter2');
    expect(JSON.parse(config)).toEqual({ credsStore: 'vaulty', auths: { 'registry.test:5000': {} } });
    expect(JSON.parse(await readFile(path.join(vault, 'registry.test_5000'), 'utf8'))).toEqual({
      ServerURL: 'registry.test:5000',
      Username: 'alice',
      Secret: 'hunter2',
    });
    expect(await lookupCredentials('registry.test:5000', { configDir: dir })).toEqual({
      username: 'alice',
      password: 'hunter2',
    });
    expect(await lookupCredentials('elsewhere.test', { configDir: dir })).toBeUndefined();
    expect(await eraseCredentials('registry.test:5000', { configDir: dir })).toBe(true);
    expect(await lookupCredentials('registry.test:5000', { configDir: dir })).toBeUndefined();
  });

  it('a per-registry credHelper wins over credsStore; "<token>" users are identity tokens', async () => {
    const vault = await fakeHelper('tok');
    const dir = await configDirWith({ credsStore: 'missing-helper', credHelpers: { 'ghcr.io': 'tok' } });
    await mkdir(vault, { recursive: true });
    await writeFile(
      path.join(vault, 'ghcr.io'),
      JSON.stringify({ ServerURL: 'ghcr.io', Username: '<token>', Secret: 'refresh' }),
    );
    expect(await lookupCredentials('ghcr.io', { configDir: dir })).toEqual({ username: '', identityToken: 'refresh' });
    await expect(lookupCredentials('quay.io', { configDir: dir })).rejects.toThrow(
      'credential helper docker-credential-missing-helper could not run',
    );
  });
});
