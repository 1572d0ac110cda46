/**
 * Multi-platform builds end to end: bases for this machine's architecture and a foreign one made
 * from Debian's busybox-static packages (test/helpers/foreign-bases.ts), the foreign one's RUN
 * steps through qemu-user-static's binfmt_misc handler (registered here with the F flag). The
 * results are read back by `file`, skopeo and a private dockerd.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostArchitecture } from '../../../core/oci.js';
import { build, buildOk, cli, tempDir, writeContext } from '../../helpers/build-fixture.js';
import { tempStore } from '../../helpers/cli.js';
import { busyboxArchiveFor, ensureEmulator } from '../../helpers/foreign-bases.js';
import { startDockerd } from '../../helpers/dockerd.js';
import { useRegistry } from '../registry/registry-server.js';

const host = hostArchitecture();
const foreign = host === 'arm64' ? 'amd64' : 'arm64';
/** What `uname -m` and `file` say of each architecture. */
const uname: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };
const fileSays: Record<string, string> = { amd64: 'x86-64', arm64: 'ARM aarch64' };
const both = `linux/${host},linux/${foreign}`;

const registry = useRegistry();
let store: string;

interface IndexDocument {
  mediaType: string;
  manifests: { mediaType: string; digest: string; platform?: { os: string; architecture: string } }[];
}

/** Steps the plain progress shows starting, by their text. */
function started(stderr: string, text: string): number {
  return stderr.split('\n').filter((line) => /^#\d+ \[/.test(line) && line.endsWith(text)).length;
}

beforeAll(async () => {
  await ensureEmulator(foreign);
  store = await tempStore();
  for (const architecture of [host, foreign]) {
    const archive = await busyboxArchiveFor(
      architecture,
      path.join(await tempDir('base'), 'busybox.tar'),
      `busybox:${architecture}`,
    );
    await cli(store, ['load', archive]);
  }
  // The multi-platform base, `busybox:latest`: itself a two-platform build (an index in the store).
  const context = await writeContext({ Dockerfile: 'ARG TARGETARCH\nFROM busybox:${TARGETARCH}\n' });
  await buildOk(store, ['--platform', both, '-t', 'busybox:latest', context]);
}, 600_000);

describe('a two-platform build', () => {
  const run = 'RUN uname -m > /uname && cp /bin/busybox /bb && echo $TARGETPLATFORM > /target';
  const dockerfile = `FROM busybox\nARG TARGETPLATFORM\n${run}\nCMD ["cat", "/uname"]\n`;
  let context: string;
  let out: string;

  beforeAll(async () => {
    context = await writeContext({ Dockerfile: dockerfile });
    out = await tempDir('out');
    const result = await buildOk(store, [
      '--platform',
      both,
      '-t',
      'multi:1',
      '--output',
      `type=local,dest=${out}`,
      context,
    ]);
    // Each platform's RUN ran, and once.
    expect(
      started(result.stderr, 'RUN uname -m > /uname && cp /bin/busybox /bb && echo $TARGETPLATFORM > /target'),
    ).toBe(2);
  }, 300_000);

  it("gives each platform's image its own architecture's binaries and RUN output", async () => {
    expect((await readdir(out)).sort()).toEqual([`linux_${host}`, `linux_${foreign}`].sort());
    for (const architecture of [host, foreign]) {
      const root = path.join(out, `linux_${architecture}`);
      expect(await readFile(path.join(root, 'uname'), 'utf8')).toBe(`${uname[architecture]}\n`);
      expect(await readFile(path.join(root, 'target'), 'utf8')).toBe(`linux/${architecture}\n`);
      const { stdout } = await execa('file', ['-b', path.join(root, 'bb')]);
      expect(stdout).toContain(fileSays[architecture]);
      // The emulator stays on the host: nothing of qemu is in the image.
      const { stdout: found } = await execa('find', [root, '-name', '*qemu*']);
      expect(found).toBe('');
    }
  });

  it('is tagged as an OCI index that skopeo reads, with one manifest per platform', async () => {
    const archive = path.join(await tempDir('save'), 'multi.tar');
    await cli(store, ['save', 'multi:1', '-o', archive]);
    const { stdout } = await execa('skopeo', ['inspect', '--raw', `oci-archive:${archive}`]);
    const index = JSON.parse(stdout) as IndexDocument;
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((entry) => `${entry.platform?.os}/${entry.platform?.architecture}`)).toEqual([
      `linux/${host}`,
      `linux/${foreign}`,
    ]);
    // skopeo follows the index to each platform's image.
    for (const architecture of [host, foreign]) {
      const { stdout: config } = await execa('skopeo', [
        '--override-arch',
        architecture,
        'inspect',
        '--config',
        `oci-archive:${archive}`,
      ]);
      expect((JSON.parse(config) as { architecture: string }).architecture).toBe(architecture);
    }
  });

  it('shows its platforms in images, inspect and history, and picks one with --platform', async () => {
    const images = await cli(store, ['images']);
    const rows = images.split('\n').filter((line) => line.startsWith('multi '));
    expect(rows).toHaveLength(2);
    expect(rows.some((row) => row.includes(`linux/${foreign}`))).toBe(true);
    expect(rows.some((row) => row.includes(`linux/${host}`))).toBe(true);
    const only = await cli(store, ['images', '--platform', `linux/${foreign}`]);
    expect(only.split('\n').filter((line) => line.startsWith('multi '))).toHaveLength(1);
    const [view] = JSON.parse(await cli(store, ['inspect', '--platform', `linux/${foreign}`, 'multi:1'])) as {
      Architecture: string;
      Platforms: string[];
      RepoTags: string[];
    }[];
    expect(view).toMatchObject({ Architecture: foreign, Platforms: [`linux/${host}`, `linux/${foreign}`] });
    expect(view?.RepoTags).toEqual(['multi:1']);
    const history = await cli(store, ['history', '--platform', `linux/${foreign}`, 'multi:1']);
    expect(history).toContain(`# linux/${foreign} (of linux/${host}, linux/${foreign})`);
    expect(history).toContain(`ARG TARGETPLATFORM=linux/${foreign}`);
  });

  it('is all cached when built again, and per platform alone', async () => {
    const again = await buildOk(store, ['--platform', both, '-t', 'multi:1', context]);
    expect(again.stderr).toContain('6 cached, 0 run');
    const alone = await buildOk(store, ['--platform', `linux/${foreign}`, '-t', 'multi:alone', context]);
    expect(alone.stderr).toContain('3 cached, 0 run');
  });

  it('goes into dockerd as one platform (save --platform) and runs there through the emulator', async () => {
    const archive = path.join(await tempDir('docker'), 'one.tar');
    await cli(store, ['save', '--platform', `linux/${foreign}`, 'multi:1', '-o', archive]);
    const dockerd = await startDockerd();
    try {
      const loaded = await dockerd.docker(['load', '-i', archive]);
      expect(loaded.exitCode, loaded.stderr).toBe(0);
      expect(loaded.stdout).toContain('multi:1');
      const run = await dockerd.docker([
        'run',
        '--rm',
        '--network',
        'none',
        '--platform',
        `linux/${foreign}`,
        'multi:1',
        'sh',
        '-c',
        'cat /uname; uname -m',
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual([uname[foreign], uname[foreign]]);
    } finally {
      await dockerd.stop();
    }
  }, 180_000);

  it('saves and loads whole (an index) or one platform', async () => {
    const archive = path.join(await tempDir('load'), 'multi.tar');
    await cli(store, ['save', 'multi:1', '-o', archive]);
    const whole = await tempStore();
    expect(await cli(whole, ['load', archive])).toContain('Loaded image: multi:1');
    const [view] = JSON.parse(await cli(whole, ['inspect', 'multi:1'])) as { Platforms?: string[] }[];
    expect(view?.Platforms).toEqual([`linux/${host}`, `linux/${foreign}`]);
    const one = await tempStore();
    await cli(one, ['load', '--platform', `linux/${foreign}`, archive]);
    const [single] = JSON.parse(await cli(one, ['inspect', 'multi:1'])) as {
      Architecture: string;
      Platforms?: string[];
    }[];
    expect(single?.Architecture).toBe(foreign);
    expect(single?.Platforms).toBeUndefined();
  });

  it('pushes the index, which pull brings back whole (--all-platforms) or one platform', async () => {
    const name = `${registry().host}/team/multi:1`;
    await cli(store, ['tag', 'multi:1', name]);
    await cli(store, ['push', '-q', '--insecure-registry', registry().host, name]);
    const { stdout } = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`]);
    const index = JSON.parse(stdout) as IndexDocument;
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toHaveLength(2);
    const all = await tempStore();
    await cli(all, ['pull', '-q', '--all-platforms', '--insecure-registry', registry().host, name]);
    const [view] = JSON.parse(await cli(all, ['inspect', '--platform', `linux/${foreign}`, name])) as {
      Architecture: string;
      Platforms?: string[];
    }[];
    expect(view).toMatchObject({ Architecture: foreign, Platforms: [`linux/${host}`, `linux/${foreign}`] });
    // As a Docker manifest list, each entry a Docker manifest.
    const listed = `${registry().host}/team/multi:docker`;
    await cli(store, ['tag', 'multi:1', listed]);
    await cli(store, ['push', '-q', '--format', 'docker', listed]);
    const list = JSON.parse(
      (await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${listed}`])).stdout,
    ) as IndexDocument;
    expect(list.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(list.manifests.map((entry) => entry.mediaType)).toEqual([
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ]);
    const one = await tempStore();
    await cli(one, ['pull', '-q', '--platform', `linux/${foreign}`, '--insecure-registry', registry().host, name]);
    const [single] = JSON.parse(await cli(one, ['inspect', name])) as { Architecture: string }[];
    expect(single?.Architecture).toBe(foreign);
  }, 120_000);
});

describe('bases from a registry', () => {
  it("pull each platform's image of an index and keep them all under the name", async () => {
    const name = `${registry().host}/bases/busybox:multi`;
    await cli(store, ['tag', 'busybox:latest', name]);
    await cli(store, ['push', '-q', name]);
    const empty = await tempStore();
    const context = await writeContext({ Dockerfile: `FROM ${name}\nRUN uname -m > /m\n` });
    const out = await tempDir('pulled');
    const first = await buildOk(empty, ['--platform', both, '--output', `type=local,dest=${out}`, context]);
    expect(first.stderr).toContain('0 cached, 2 run');
    for (const architecture of [host, foreign])
      expect(await readFile(path.join(out, `linux_${architecture}`, 'm'), 'utf8')).toBe(`${uname[architecture]}\n`);
    // Both pulls are kept under the name: a rebuild needs no registry.
    const [view] = JSON.parse(await cli(empty, ['inspect', name])) as { Platforms?: string[] }[];
    expect(view?.Platforms?.sort()).toEqual([`linux/${host}`, `linux/${foreign}`].sort());
    const again = await buildOk(empty, ['--pull=never', '--platform', both, context]);
    expect(again.stderr).toContain('2 cached, 0 run');
  }, 180_000);
});

describe('cross-compiling on $BUILDPLATFORM', () => {
  it('runs no emulated step and builds a platform-independent stage once for all', async () => {
    const dockerfile = [
      'FROM --platform=$BUILDPLATFORM busybox AS build',
      'ARG TARGETARCH',
      'RUN echo "$(uname -m) for $TARGETARCH" > /out',
      'FROM --platform=$BUILDPLATFORM busybox AS tools',
      'RUN uname -m > /tools',
      'FROM busybox',
      'COPY --from=build /out /out',
      'COPY --from=tools /tools /tools',
      '',
    ].join('\n');
    const context = await writeContext({ Dockerfile: dockerfile });
    const out = await tempDir('cross');
    const result = await buildOk(store, ['--platform', both, '--output', `type=local,dest=${out}`, context]);
    // The target-dependent build stage runs per platform, the tools stage once.
    expect(started(result.stderr, 'RUN echo "$(uname -m) for $TARGETARCH" > /out')).toBe(2);
    expect(started(result.stderr, 'RUN uname -m > /tools')).toBe(1);
    for (const architecture of [host, foreign]) {
      const root = path.join(out, `linux_${architecture}`);
      // Every RUN saw this machine's CPU: nothing went through the emulator.
      expect(await readFile(path.join(root, 'out'), 'utf8')).toBe(`${uname[host]} for ${architecture}\n`);
      expect(await readFile(path.join(root, 'tools'), 'utf8')).toBe(`${uname[host]}\n`);
      const { stdout } = await execa('file', ['-b', '-L', path.join(root, 'bin/busybox')]);
      expect(stdout).toContain(fileSays[architecture]);
    }
  }, 300_000);
});

describe('a platform without an emulator', () => {
  it('fails before any step runs, in one line naming the RUN and the platform', async () => {
    // sparc64: no qemu-user handler exists for it in Debian, whatever this machine registered.
    const context = await writeContext({ Dockerfile: 'FROM scratch\nCOPY Dockerfile /\nRUN true\n' });
    const result = await build(store, ['--platform', `linux/${host},linux/sparc64`, context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('building');
    const first = result.stderr.split('\n')[0];
    expect(first).toMatch(/^error: \S*Dockerfile:3: RUN for linux\/sparc64 needs an emulator: /);
    expect(first).toMatch(/: no emulator is known for architecture sparc64$/);
  });
});

describe('a final stage on $BUILDPLATFORM', () => {
  it('is labelled with each target platform, as BuildKit does', async () => {
    const dockerfile = 'FROM --platform=$BUILDPLATFORM busybox\nARG TARGETARCH\nRUN echo $TARGETARCH > /for\n';
    const context = await writeContext({ Dockerfile: dockerfile });
    await buildOk(store, ['--platform', both, '-t', 'same-binary:1', context]);
    for (const architecture of [host, foreign]) {
      const [view] = JSON.parse(
        await cli(store, ['inspect', '--platform', `linux/${architecture}`, 'same-binary:1']),
      ) as {
        Architecture: string;
      }[];
      expect(view?.Architecture).toBe(architecture);
    }
  }, 120_000);
});

describe('bases of one platform', () => {
  it('refuses a single-platform base of another platform, naming the FROM line', async () => {
    const context = await writeContext({ Dockerfile: `FROM busybox:${foreign}\nRUN true\n` });
    const result = await build(store, [context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `Dockerfile:1: base image busybox:${foreign} is for linux/${foreign}, not linux/${host} ` +
        `(use FROM --platform=linux/${foreign} if that is what you want)`,
    );
  });

  it('takes it when FROM --platform asks for that platform, or --platform builds for it', async () => {
    const explicit = await writeContext({
      Dockerfile: `FROM --platform=linux/${foreign} busybox:${foreign}\nRUN uname -m > /m\n`,
    });
    const out = await tempDir('explicit');
    await buildOk(store, ['--output', `type=local,dest=${out}`, explicit]);
    expect(await readFile(path.join(out, 'm'), 'utf8')).toBe(`${uname[foreign]}\n`);
    const plain = await writeContext({ Dockerfile: `FROM busybox:${foreign}\nRUN uname -m > /m\n` });
    const out2 = await tempDir('single');
    await buildOk(store, ['--platform', `linux/${foreign}`, '--output', `type=local,dest=${out2}`, plain]);
    expect(await readFile(path.join(out2, 'm'), 'utf8')).toBe(`${uname[foreign]}\n`);
  }, 120_000);

  it('says which platform an index lacks', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nCOPY Dockerfile /\n' });
    const result = await build(store, ['--platform', 'linux/s390x', context]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `Dockerfile:1: image "busybox" has no image for linux/s390x (it has: linux/${host}, linux/${foreign})`,
    );
  });
});
