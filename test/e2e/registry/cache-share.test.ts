/**
 * The shared build cache end to end, through the real CLI against Debian's docker-registry:
 * store A builds with --cache-to, an empty store B builds the same context with --cache-from and
 * hits every step without running any RUN (their output never appears), giving the same image ID.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadedStore, tempDir, writeContext } from '../../helpers/build-fixture.js';
import { runTzbuild, type CliResult } from '../../helpers/cli.js';
import { startProxy } from './proxy.js';
import { freePort, startRegistry, useRegistry } from './registry-server.js';

const registry = useRegistry();
const env = { SOURCE_DATE_EPOCH: '1700000000' };

const dockerfile = [
  'FROM busybox:latest AS builder',
  'RUN echo builder-ran && mkdir -p /out && echo built > /out/artifact',
  'COPY tool.txt /out/tool.txt',
  '',
  'FROM busybox:latest',
  'COPY --from=builder /out /opt/out',
  'COPY app.txt /app/app.txt',
  'RUN echo final-ran && cat /app/app.txt > /app/copy.txt',
  'CMD ["cat", "/app/copy.txt"]',
  '',
].join('\n');

/** What a `--progress json` build did, step by step (by instruction text). */
interface BuildView {
  exitCode: number;
  stderr: string;
  imageId?: string;
  cached: string[];
  ran: string[];
  /** Lines the RUN steps printed (a RUN that did not run prints nothing). */
  output: string[];
}

async function jsonBuild(store: string, args: string[], extraEnv: Record<string, string> = {}): Promise<BuildView> {
  const result: CliResult = await runTzbuild(['build', '--root', store, '--progress', 'json', ...args], {
    env: { ...env, ...extraEnv },
  });
  const events = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, string>);
  const texts = new Map(events.filter((e) => e.type === 'step.start').map((e) => [e.stepId, e.text]));
  // FROM is reported as a step that always "runs" (it resolves the base): not a cache question.
  const of = (type: string) =>
    events
      .filter((e) => e.type === type)
      .map((e) => texts.get(e.stepId) ?? '?')
      .filter((text) => !text.startsWith('FROM '));
  const done = events.find((e) => e.type === 'build.done');
  return {
    exitCode: result.exitCode,
    stderr: result.stderr,
    ...(done ? { imageId: done.imageId } : {}),
    cached: of('step.cached'),
    ran: of('step.done'),
    output: events.filter((e) => e.type === 'step.output').map((e) => e.line ?? ''),
  };
}

async function jsonBuildOk(store: string, args: string[], extraEnv: Record<string, string> = {}): Promise<BuildView> {
  const view = await jsonBuild(store, args, extraEnv);
  if (view.exitCode !== 0) throw new Error(`build failed (exit ${view.exitCode}):\n${view.stderr}`);
  return view;
}

let context: string;
/** Store A's first build, exported with mode=max and mode=min. */
let first: BuildView;
let ref: (name: string) => string;

beforeAll(async () => {
  ref = (name) => `${registry().host}/cache/${name}`;
  context = await writeContext({ Dockerfile: dockerfile, 'tool.txt': 'tool v1\n', 'app.txt': 'app v1\n' });
  const storeA = await loadedStore();
  first = await jsonBuildOk(storeA, [
    '--cache-to',
    `type=registry,ref=${ref('app:max')},mode=max`,
    '--cache-to',
    `type=registry,ref=${ref('app:min')}`,
    '-t',
    'app:1',
    context,
  ]);
}, 120_000);

describe('--cache-to then --cache-from (registry)', () => {
  it('an empty store hits every step, runs no RUN and makes the same image', async () => {
    expect(first.output).toEqual(expect.arrayContaining(['builder-ran', 'final-ran']));
    expect(first.stderr).toMatch(/cache exported to type=registry,ref=.*app:max,mode=max: 7 records, 5 layers/);
    const b = await jsonBuildOk(await loadedStore(), ['--cache-from', `type=registry,ref=${ref('app:max')}`, context]);
    expect(b.ran).toEqual([]);
    expect(b.cached).toHaveLength(6);
    expect(b.output).toEqual([]);
    expect(b.imageId).toBe(first.imageId);
  });

  it('downloads only the layers the image needs: a fully cached builder stage costs nothing', async () => {
    const proxy = await startProxy(registry().host);
    try {
      const store = await loadedStore();
      const b = await jsonBuildOk(store, ['--cache-from', `${proxy.host}/cache/app:max`, context]);
      expect(b.ran).toEqual([]);
      expect(b.imageId).toBe(first.imageId);
      const blobGets = proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
      // The cache config and the three layers of the final stage; not the builder's two.
      expect(blobGets).toHaveLength(4);
      const fsck = await runTzbuild(['system', 'fsck', '--root', store]);
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('a changed file re-runs its step and what follows, nothing before it (two --cache-from)', async () => {
    const changed = await writeContext({ Dockerfile: dockerfile, 'tool.txt': 'tool v1\n', 'app.txt': 'app v2\n' });
    // app:min lacks the builder stage; app:max, consulted second, has it.
    const b = await jsonBuildOk(await loadedStore(), [
      '--cache-from',
      ref('app:min'),
      '--cache-from',
      ref('app:max'),
      changed,
    ]);
    expect(b.ran).toEqual([
      'COPY app.txt /app/app.txt',
      'RUN echo final-ran && cat /app/app.txt > /app/copy.txt',
      'CMD ["cat", "/app/copy.txt"]',
    ]);
    expect(b.cached).toEqual([
      'RUN echo builder-ran && mkdir -p /out && echo built > /out/artifact',
      'COPY tool.txt /out/tool.txt',
      'COPY --from=builder /out /opt/out',
    ]);
    expect(b.output).toEqual(['final-ran']);
    expect(b.imageId).not.toBe(first.imageId);
  });

  it('mode=min carries only the stages in the image: the builder stage runs again', async () => {
    const b = await jsonBuildOk(await loadedStore(), ['--cache-from', `type=registry,ref=${ref('app:min')}`, context]);
    // 4 steps, plus the COPY --from's second record keyed by the content it copies.
    expect(first.stderr).toMatch(/app:min: 5 records, 3 layers/);
    expect(b.ran).toEqual([
      'RUN echo builder-ran && mkdir -p /out && echo built > /out/artifact',
      'COPY tool.txt /out/tool.txt',
    ]);
    expect(b.output).toEqual(['builder-ran']);
    // The builder's layers are reproducible (SOURCE_DATE_EPOCH), so the final stage still hits.
    expect(b.cached).toHaveLength(4);
    expect(b.imageId).toBe(first.imageId);
  });

  it('mode=min without SOURCE_DATE_EPOCH: the builder differs, the COPY --from hits by content', async () => {
    const noEpoch = { SOURCE_DATE_EPOCH: '' };
    const a = await jsonBuildOk(
      await loadedStore(),
      ['--cache-to', `type=registry,ref=${ref('app:min-live')}`, context],
      noEpoch,
    );
    const b = await jsonBuildOk(await loadedStore(), ['--cache-from', ref('app:min-live'), context], noEpoch);
    expect(b.ran).toEqual([
      'RUN echo builder-ran && mkdir -p /out && echo built > /out/artifact',
      'COPY tool.txt /out/tool.txt',
    ]);
    expect(b.cached).toEqual([
      'COPY --from=builder /out /opt/out',
      'COPY app.txt /app/app.txt',
      'RUN echo final-ran && cat /app/app.txt > /app/copy.txt',
      'CMD ["cat", "/app/copy.txt"]',
    ]);
    expect(b.imageId).toBe(a.imageId);
  });

  it('a --cache-from ref that does not exist is a warning, not a failure', async () => {
    const b = await jsonBuildOk(await loadedStore(), [
      '--cache-from',
      `type=registry,ref=${ref('nothing:here')}`,
      context,
    ]);
    expect(b.stderr).toContain(
      `warning: --cache-from type=registry,ref=${ref('nothing:here')}: no cache there yet; building without it`,
    );
    expect(b.ran).toHaveLength(6);
    expect(b.cached).toEqual([]);
    expect(b.imageId).toBe(first.imageId);
  });

  it('a registry that is down fails --cache-to with one clear line', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const b = await jsonBuild(await loadedStore(), ['--cache-to', `type=registry,ref=${down}/cache/app:x`, context]);
    expect(b.exitCode).toBe(1);
    const errors = b.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(`^error: --cache-to type=registry,ref=${down}/cache/app:x: cache export failed: registry ${down}: .*`),
    );
    expect(b.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('--push pushes the tagged image, which pulls back with the same ID', async () => {
    const name = `${registry().host}/team/pushed:1`;
    const built = await jsonBuildOk(await loadedStore(), [
      '--push',
      '-t',
      name,
      '--cache-from',
      ref('app:max'),
      context,
    ]);
    expect(built.stderr).toMatch(new RegExp(`pushed ${name}@sha256:[a-f0-9]{64}`));
    const target = await loadedStore();
    const pulled = await runTzbuild(['pull', '--root', target, name]);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(pulled.stderr).toContain(`Image ID: ${built.imageId}`);
  });

  it('--push without -t is a usage error', async () => {
    const result = await runTzbuild(['build', '--root', await loadedStore(), '--push', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('error: --push needs a name to push to: give -t REGISTRY/NAME:TAG\n');
  });
});

describe('type=local', () => {
  it('exports to a directory and an empty store hits every step from it', async () => {
    const dir = path.join(await tempDir('local-cache'), 'cache');
    const a = await jsonBuildOk(await loadedStore(), ['--cache-to', `type=local,dest=${dir},mode=max`, context]);
    expect(JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const b = await jsonBuildOk(await loadedStore(), ['--cache-from', `type=local,src=${dir}`, context]);
    expect(b.ran).toEqual([]);
    expect(b.output).toEqual([]);
    expect(b.imageId).toBe(a.imageId);
  });

  it('a corrupted layer in the directory fails the import with a clear line, never a bad image', async () => {
    const dir = path.join(await tempDir('local-cache-bad'), 'cache');
    await jsonBuildOk(await loadedStore(), ['--cache-to', `type=local,dest=${dir},mode=max`, context]);
    const blobs = path.join(dir, 'blobs', 'sha256');
    // Every blob but index/manifest/config: flip one byte of each gzip layer (same size).
    for (const name of await readdir(blobs)) {
      const bytes = await readFile(path.join(blobs, name));
      if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) continue;
      bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
      await writeFile(path.join(blobs, name), bytes);
    }
    const b = await jsonBuild(await loadedStore(), ['--cache-from', `type=local,src=${dir}`, context]);
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toMatch(
      /^error: --cache-from local cache .*: layer sha256:[a-f0-9]{64} does not match its digest$/m,
    );
  });
});

describe('credentials', () => {
  it('never reach the exported cache (registry with auth, a build secret)', async () => {
    const auth = { username: 'cacheuser', password: 'hunter2-cache-secret' };
    const secured = await startRegistry({ auth });
    try {
      const dockerConfig = await tempDir('docker-config');
      const basic = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
      await writeFile(
        path.join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [secured.host]: { auth: basic } } }),
      );
      const secretFile = path.join(await tempDir('secret'), 'token');
      await writeFile(secretFile, 'build-secret-value-42');
      const withSecret = await writeContext({
        Dockerfile:
          'FROM busybox:latest\nRUN --mount=type=secret,id=tok wc -c /run/secrets/tok > /count\nCOPY app.txt ' +
          '/app.txt\n',
        'app.txt': 'x\n',
      });
      const refName = `${secured.host}/cache/secret:c`;
      const a = await jsonBuildOk(
        await loadedStore(),
        ['--secret', `id=tok,src=${secretFile}`, '--cache-to', `type=registry,ref=${refName},mode=max`, withSecret],
        { DOCKER_CONFIG: dockerConfig },
      );
      const b = await jsonBuildOk(
        await loadedStore(),
        ['--secret', `id=tok,src=${secretFile}`, '--cache-from', refName, withSecret],
        { DOCKER_CONFIG: dockerConfig },
      );
      expect(b.ran).toEqual([]);
      expect(b.imageId).toBe(a.imageId);
      const stored = await registryBlobs(secured.dir);
      expect(stored.length).toBeGreaterThanOrEqual(4);
      for (const bytes of stored) {
        const text = bytes.toString('latin1');
        for (const secret of [auth.password, basic, 'build-secret-value-42', 'Authorization'])
          expect(text).not.toContain(secret);
      }
    } finally {
      await secured.stop();
    }
  });
});

/** Every blob the registry stored, gzip ones decompressed. */
async function registryBlobs(dir: string): Promise<Buffer[]> {
  const root = path.join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const found: Buffer[] = [];
  for (const shard of await readdir(root)) {
    for (const hex of await readdir(path.join(root, shard))) {
      const bytes = await readFile(path.join(root, shard, hex, 'data'));
      found.push(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
    }
  }
  return found;
}
