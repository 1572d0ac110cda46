/**
 * Reading built images back: `history` (one row per instruction, 0B for config-only ones),
 * `inspect` (Docker's fields, consistent with the store's blobs), `tag`, `rmi`, `images` and
 * `system df` (layers shared between images counted once).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../../cli/format.js';
import { runTzbuild } from '../../helpers/cli.js';
import { blobPath, buildDockerfile, cli, inspect, loadedStore, manifestOf } from '../../helpers/build-fixture.js';

let store: string;

const DOCKERFILE = `FROM busybox
ENV A=1
RUN echo layer > /layer
LABEL l=1
COPY f /f
CMD ["sh"]
`;

/** Docker's architecture name for this machine. */
const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;

beforeAll(async () => {
  store = await loadedStore();
  await buildDockerfile(store, 'hist:1', DOCKERFILE, { f: 'file content\n' });
});

/** A table's rows as cells (Docker-style tables separate columns with 3+ spaces). */
function tableRows(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {3,}/));
}

describe('history', () => {
  it('has one row per instruction (FROM aside) above the base, 0B for config-only ones', async () => {
    const [header, ...rows] = tableRows(await cli(store, ['history', 'hist:1']));
    expect(header).toEqual(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
    expect(rows).toHaveLength(6);
    const image = await inspect(store, 'hist:1');
    expect(rows[0]![0]).toBe(image.Id.replace('sha256:', '').slice(0, 12));
    expect(rows.slice(1).map((row) => row[0])).toEqual(Array(5).fill('<missing>'));
    const createdBy = rows.map((row) => row[2]);
    expect(createdBy).toEqual([
      'CMD ["sh"]',
      'COPY f /f # buildkit',
      'LABEL l=1',
      'RUN /bin/sh -c echo layer > /layer # buildkit',
      'ENV A=1',
      'tzbuild test helper: busybox-static rootfs',
    ]);
    const manifest = await manifestOf(store, 'hist:1');
    const sizes = rows.map((row) => row[3]);
    expect(sizes).toEqual([
      '0B',
      formatBytes(manifest.layers[2]!.size),
      '0B',
      formatBytes(manifest.layers[1]!.size),
      '0B',
      formatBytes(manifest.layers[0]!.size),
    ]);
    expect(sizes.filter((size) => size !== '0B')).toHaveLength(3);
  });
});

describe('inspect', () => {
  it("shows Docker's fields, consistent with the blobs in the store", async () => {
    const image = await inspect(store, 'hist:1');
    const manifest = await manifestOf(store, 'hist:1');
    const configBlob = await readFile(blobPath(store, image.Id));
    expect(image.Id).toBe(`sha256:${createHash('sha256').update(configBlob).digest('hex')}`);
    const config = JSON.parse(configBlob.toString()) as { rootfs: { diff_ids: string[] }; history: unknown[] };
    expect(image.RepoTags).toEqual(['hist:1']);
    expect(image.Architecture).toBe(arch);
    expect(image.Os).toBe('linux');
    expect(image.Config).toMatchObject({
      Env: [expect.stringMatching(/^PATH=/), 'A=1'],
      Labels: { l: '1' },
      Cmd: ['sh'],
    });
    expect(image.RootFS.Type).toBe('layers');
    expect(image.RootFS.Layers).toEqual(config.rootfs.diff_ids);
    expect(image.RootFS.Layers).toHaveLength(3);
    expect(image.Size).toBe(manifest.layers.reduce((sum, layer) => sum + layer.size, 0));
    expect(image.History).toEqual(config.history);
    expect(image.History.map((entry) => entry.empty_layer ?? false)).toEqual([false, true, false, true, false, true]);
    expect(image.Created).toBe(image.History.at(-1)!.created);
  });

  it('fails with exit code 1 for an unknown image', async () => {
    const result = await runTzbuild(['inspect', '--root', store, 'nope:1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/nope/);
    expect(result.stdout).toBe('');
  });
});

describe('tag and rmi', () => {
  it('adds a name for the same image and removes only that name', async () => {
    const image = await inspect(store, 'hist:1');
    await cli(store, ['tag', 'hist:1', 'other/name:2']);
    expect((await inspect(store, 'other/name:2')).Id).toBe(image.Id);
    expect((await inspect(store, 'hist:1')).RepoTags).toEqual(['hist:1', 'other/name:2']);
    const listed = tableRows(await cli(store, ['images']))
      .slice(1)
      .map((row) => row.slice(0, 3));
    const shortId = image.Id.slice('sha256:'.length, 'sha256:'.length + 12);
    expect(listed).toEqual(
      expect.arrayContaining([
        ['hist', '1', shortId],
        ['other/name', '2', shortId],
      ]),
    );

    expect(await cli(store, ['rmi', 'other/name:2'])).toBe('Untagged: other/name:2\n');
    const gone = await runTzbuild(['inspect', '--root', store, 'other/name:2']);
    expect(gone.exitCode).toBe(1);
    expect((await inspect(store, 'hist:1')).RepoTags).toEqual(['hist:1']);
  });

  it('refuses to remove an image that does not exist', async () => {
    const result = await runTzbuild(['rmi', '--root', store, 'never:there']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/No such image: never:there/);
  });
});

describe('system df', () => {
  it('counts the shared base once and reports the bytes saved', async () => {
    const own = await loadedStore();
    await buildDockerfile(own, 'share:a', 'FROM busybox\nRUN echo a > /a\n');
    await buildDockerfile(own, 'share:b', 'FROM busybox\nRUN echo b > /b\n');
    const layers = await Promise.all(
      ['busybox:latest', 'share:a', 'share:b'].map(async (tag) => (await manifestOf(own, tag)).layers),
    );
    const base = layers[0]![0]!;
    for (const list of layers) expect(list[0]!.digest).toBe(base.digest);
    const [header, row] = tableRows(await cli(own, ['system', 'df']));
    expect(header).toEqual(['TYPE', 'TOTAL', 'SIZE', 'SHARED', 'ON DISK']);
    // Three images stand on the same base layer: two of its three uses cost nothing.
    const total = layers.flat().reduce((sum, layer) => sum + layer.size, 0);
    const onDisk = base.size + layers[1]![1]!.size + layers[2]![1]!.size;
    expect(row![0]).toBe('Images');
    expect(row![1]).toBe('3');
    expect(row![2]).toBe(formatBytes(total));
    expect(row![3]).toMatch(new RegExp(`^${formatBytes(2 * base.size).replace('.', '\\.')} \\(\\d+%\\)$`));
    expect(row![4]).toBe(formatBytes(onDisk));
  });
});
