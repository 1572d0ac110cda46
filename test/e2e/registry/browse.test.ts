/**
 * Browsing a private registry: `tzbuild catalog REGISTRY` and `tzbuild tags REPO`, every page
 * of the registry's listing followed, Docker Hub names asked of the configured mirror.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../registry/client.js';
import { listRepositories, listTags } from '../../../registry/listing.js';
import { makeBusyboxDockerArchive } from '../../helpers/busybox.js';
import { runTzbuild, tempStore } from '../../helpers/cli.js';
import { tempDir } from './fixtures.js';
import { freePort, useRegistry } from './registry-server.js';

const registry = useRegistry();
const names = ['team/a:1', 'team/a:2', 'team/b:1', 'library/c:latest'];

beforeAll(async () => {
  const env = { TZBUILD_ROOT: await tempStore() };
  const archive = await makeBusyboxDockerArchive(path.join(await tempDir('tzb-browse-'), 'busybox.tar'));
  expect((await runTzbuild(['load', archive], { env })).exitCode).toBe(0);
  for (const name of names) {
    const destination = `${registry().host}/${name}`;
    expect((await runTzbuild(['tag', 'busybox:latest', destination], { env })).exitCode).toBe(0);
    expect((await runTzbuild(['push', '-q', destination], { env })).exitCode).toBe(0);
  }
});

describe('tzbuild catalog and tags', () => {
  it('lists the repositories and the tags of one', async () => {
    const catalog = await runTzbuild(['catalog', registry().host]);
    expect(catalog.exitCode, catalog.stderr).toBe(0);
    expect(catalog.stdout.trim().split('\n')).toEqual(['library/c', 'team/a', 'team/b']);
    const tags = await runTzbuild(['tags', `${registry().host}/team/a`]);
    expect(tags.stdout.trim().split('\n').sort()).toEqual(['1', '2']);
  });

  it('follows every page of a listing', async () => {
    const client = new RegistryClient(registry().host);
    try {
      expect(await listRepositories(client, 1)).toEqual(['library/c', 'team/a', 'team/b']);
      expect((await listTags(client, 'team/a', 1)).sort()).toEqual(['1', '2']);
    } finally {
      client.close();
    }
  });

  it('asks the mirror for the tags of a Docker Hub name', async () => {
    const store = await tempStore();
    const config = { 'registry-mirrors': [`http://${registry().host}`], 'hub-fallback': false };
    await writeFile(path.join(store, 'config.json'), JSON.stringify(config));
    const tags = await runTzbuild(['tags', 'c'], { env: { TZBUILD_ROOT: store } });
    expect(tags.exitCode, tags.stderr).toBe(0);
    expect(tags.stdout.trim()).toBe('latest');
  });

  it('a registry that is down or a repository that is not there: one line, exit 1', async () => {
    const down = await runTzbuild(['catalog', `127.0.0.1:${await freePort()}`]);
    expect(down.exitCode).toBe(1);
    expect(down.stderr.trim()).toMatch(/^error: registry 127\.0\.0\.1:\d+: catalog: .*ECONNREFUSED/);
    const missing = await runTzbuild(['tags', `${registry().host}/team/none`]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^error: registry 127\.0\.0\.1:\d+: tags of team\/none: not found$/);
  });
});
