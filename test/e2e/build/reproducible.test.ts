/**
 * Reproducible builds: with SOURCE_DATE_EPOCH two cold builds in separate stores (from contexts
 * whose files have different mtimes) give the same image ID; without it, a fully cached rebuild
 * gives the ID of the first build.
 */
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildOk,
  inspect,
  layerNames,
  loadedStore,
  pathInfo,
  readIn,
  unpack,
  writeContext,
} from '../../helpers/build-fixture.js';

const EPOCH = 1_700_000_000;
const EPOCH_ISO = new Date(EPOCH * 1000).toISOString();

const DOCKERFILE = `FROM busybox
COPY app.txt /app/app.txt
RUN echo generated > /app/generated && mkdir /app/made
WORKDIR /srv
ENV MODE=release
`;

/** A context with the same content each time; `age` seconds back sets its files' mtimes. */
async function context(age: number): Promise<string> {
  const dir = await writeContext({ Dockerfile: DOCKERFILE, 'app.txt': 'the app\n' });
  const when = new Date(Date.now() - age * 1000);
  await utimes(path.join(dir, 'app.txt'), when, when);
  return dir;
}

describe('reproducible builds', () => {
  it('gives the same image ID for two cold builds with SOURCE_DATE_EPOCH', async () => {
    const env = { SOURCE_DATE_EPOCH: String(EPOCH) };
    const [first, second] = await Promise.all([loadedStore(), loadedStore()]);
    await buildOk(first, ['-t', 'repro:1', await context(0)], { env });
    await buildOk(second, ['-t', 'repro:1', await context(3600)], { env });
    const [a, b] = [await inspect(first, 'repro:1'), await inspect(second, 'repro:1')];
    expect(a.RootFS.Layers).toHaveLength(4);
    expect(b.RootFS.Layers).toEqual(a.RootFS.Layers);
    expect(b.Id).toBe(a.Id);
    expect(a.Created).toBe(EPOCH_ISO);
    expect(a.History.slice(1).map((entry) => entry.created)).toEqual(Array(4).fill(EPOCH_ISO));
    expect(await layerNames(first, 'repro:1', 2)).toEqual(['app', 'app/generated', 'app/made']);
    // Every time in the layers is clamped to the epoch.
    const rootfs = await unpack(first, 'repro:1');
    for (const file of ['app', 'app/app.txt', 'app/generated', 'app/made', 'srv']) {
      expect((await pathInfo(rootfs, file))?.mtime).toBe(EPOCH);
    }
  });

  it('gives the same image ID again when every step comes from the cache', async () => {
    const store = await loadedStore();
    const dir = await context(0);
    const cold = await buildOk(store, ['-t', 'cached:1', dir]);
    expect(cold.stderr).toMatch(/^0 cached, 4 run\b/m);
    const first = await inspect(store, 'cached:1');
    const warm = await buildOk(store, ['-t', 'cached:2', dir]);
    expect(warm.stderr).toMatch(/^4 cached, 0 run\b/m);
    const second = await inspect(store, 'cached:2');
    expect(second.Id).toBe(first.Id);
    expect(second.RepoTags).toEqual(['cached:1', 'cached:2']);
  });

  it('keeps the cache when only mtimes change, and rebuilds from a COPY whose source changed', async () => {
    const store = await loadedStore();
    const dir = await context(0);
    await buildOk(store, ['-t', 'edit:1', dir]);
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(dir, 'app.txt'), later, later);
    const touched = await buildOk(store, ['-t', 'edit:2', dir]);
    expect(touched.stderr).toMatch(/^4 cached, 0 run\b/m);
    await writeFile(path.join(dir, 'app.txt'), 'the app, edited\n');
    const edited = await buildOk(store, ['-t', 'edit:3', dir]);
    // The COPY and everything after it that makes a new layer or config runs again.
    expect(edited.stderr).toMatch(/^0 cached, 4 run\b/m);
    expect(await readIn(await unpack(store, 'edit:3'), 'app/app.txt')).toBe('the app, edited\n');
    expect((await inspect(store, 'edit:3')).Id).not.toBe((await inspect(store, 'edit:1')).Id);
  });
});
