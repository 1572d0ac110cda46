import { describe, expect, it } from 'vitest';
import { type CreateOptions, commandOf, createContainer } from '../../../containers/create.js';
import type { ContainerDeps } from '../../../containers/deps.js';
import type { ImageConfig } from '../../../core/oci.js';
import type { ResolvedImage } from '../../../core/ports.js';
import { ContainerStore } from '../../../store/containers.js';
import { initStoreLayout } from '../../../store/layout.js';
import { tempDir } from '../../helpers/layers.js';

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: {
    Env: ['PATH=/usr/bin:/bin', 'MODE=image'],
    Entrypoint: ['/entry'],
    Cmd: ['serve', '--port', '80'],
    WorkingDir: '/app',
    User: 'app',
  },
  rootfs: { type: 'layers', diff_ids: [] },
  history: [],
};

async function deps(): Promise<ContainerDeps> {
  const root = await tempDir();
  await initStoreLayout(root);
  const image = { manifestDigest: `sha256:${'1'.repeat(64)}`, configDigest: `sha256:${'2'.repeat(64)}`, config };
  return {
    root,
    containers: new ContainerStore(root),
    images: { resolve: async () => image as unknown as ResolvedImage },
  } as unknown as ContainerDeps;
}

const options = (overrides: Partial<CreateOptions> = {}): CreateOptions => ({
  image: 'app:1',
  command: [],
  env: [],
  volumes: [],
  tty: false,
  interactive: false,
  autoRemove: false,
  ...overrides,
});

describe('createContainer', () => {
  it("takes the image's config when the command line says nothing", async () => {
    const record = await createContainer(await deps(), options());
    expect(record.id).toMatch(/^[a-f0-9]{64}$/);
    expect(record.config).toMatchObject({ WorkingDir: '/app', User: 'app', Hostname: record.id.slice(0, 12) });
    expect(commandOf(record)).toEqual(['/entry', 'serve', '--port', '80']);
    expect(record.state).toEqual({ status: 'created', exitCode: 0 });
  });

  it('merges as docker run: arguments replace CMD, --entrypoint drops it, -e replaces or adds', async () => {
    const store = await deps();
    const args = await createContainer(store, options({ command: ['sh'], env: ['MODE=run', 'NEW=1'] }));
    expect(commandOf(args)).toEqual(['/entry', 'sh']);
    expect(args.config.Env).toEqual(['PATH=/usr/bin:/bin', 'MODE=run', 'NEW=1']);
    const entry = await createContainer(store, options({ entrypoint: '/bin/sh' }));
    expect(commandOf(entry)).toEqual(['/bin/sh']);
    const both = await createContainer(store, options({ entrypoint: '/bin/sh', command: ['-c', 'true'] }));
    expect(commandOf(both)).toEqual(['/bin/sh', '-c', 'true']);
    const cleared = await createContainer(store, options({ entrypoint: '', command: ['ls'] }));
    expect(commandOf(cleared)).toEqual(['ls']);
  });

  it('refuses bad names, taken names, relative or malformed -v and no command at all', async () => {
    const store = await deps();
    await createContainer(store, options({ name: 'web' }));
    await expect(createContainer(store, options({ name: 'web' }))).rejects.toThrow(/"web" is already in use/);
    await expect(createContainer(store, options({ name: 'a/b' }))).rejects.toThrow(/invalid container name/);
    await expect(createContainer(store, options({ volumes: ['data:/data'] }))).rejects.toThrow(/must be absolute/);
    await expect(createContainer(store, options({ volumes: ['/a:/b:rx'] }))).rejects.toThrow(/HOST:CONTAINER/);
    await expect(createContainer(store, options({ entrypoint: '' }))).rejects.toThrow(/no command specified/);
    expect((await store.containers.list()).map((record) => record.name)).toEqual(['web']);
  });
});
