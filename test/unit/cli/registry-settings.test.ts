import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pullPolicy } from '../../../cli/commands/build.js';
import { registrySettings } from '../../../cli/registry-settings.js';
import { tempDir } from '../../helpers/layers.js';

async function storeWith(config: unknown): Promise<string> {
  const root = await tempDir('tzb-settings-');
  await writeFile(path.join(root, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return root;
}

describe('registry settings', () => {
  it("reads daemon.json's keys from the store's config.json, --insecure-registry added", async () => {
    const root = await storeWith({
      'registry-mirrors': ['http://127.0.0.1:5000'],
      'insecure-registries': ['10.0.0.0/8'],
      'hub-fallback': false,
    });
    expect(await registrySettings(root, ['reg.lan:5000'], {})).toEqual({
      mirrors: ['http://127.0.0.1:5000'],
      insecure: ['10.0.0.0/8', 'reg.lan:5000'],
      hubFallback: false,
    });
  });

  it('lets TZBUILD_REGISTRY_MIRRORS replace the mirrors for one command', async () => {
    const root = await storeWith({ 'registry-mirrors': ['http://127.0.0.1:5000'] });
    const env = { TZBUILD_REGISTRY_MIRRORS: ' http://a:1 ,https://b ' };
    expect((await registrySettings(root, [], env)).mirrors).toEqual(['http://a:1', 'https://b']);
    await expect(registrySettings(root, [], { TZBUILD_REGISTRY_MIRRORS: 'ftp://x' })).rejects.toThrow(
      /^TZBUILD_REGISTRY_MIRRORS: registry mirror "ftp:\/\/x"/,
    );
  });

  it('defaults to no mirror and Docker Hub; a malformed config.json is one line naming it', async () => {
    expect(await registrySettings(await tempDir('tzb-settings-'), [], {})).toEqual({
      mirrors: [],
      insecure: [],
      hubFallback: true,
    });
    const bad = await storeWith({ 'hub-fallback': 'no' });
    await expect(registrySettings(bad, [], {})).rejects.toThrow(
      `${bad}/config.json: "hub-fallback" must be true or false`,
    );
    const broken = await storeWith('{');
    await expect(registrySettings(broken, [], {})).rejects.toThrow(`${broken}/config.json: not valid JSON`);
  });

  it('takes --pull as docker does', () => {
    expect([undefined, false, 'false', 'missing'].map(pullPolicy)).toEqual([
      'missing',
      'missing',
      'missing',
      'missing',
    ]);
    expect([true, 'true', 'always'].map(pullPolicy)).toEqual(['always', 'always', 'always']);
    expect(pullPolicy('never')).toBe('never');
    expect(() => pullPolicy('sometimes')).toThrow('--pull: unknown policy "sometimes" (use always, missing or never)');
  });
});
