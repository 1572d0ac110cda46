/**
 * `images`, `inspect` (images and containers), `history`, `tag`, `rmi`, `system df`: reading and
 * naming what the store holds.
 */
import { StoreError } from '../../core/errors.js';
import { diskUsage, listImages, manifestDescriptor, removeTag, resolveImage } from '../../store/images.js';
import { normalizeName } from '../../store/tag-store.js';
import type { ResolvedImage } from '../../core/ports.js';
import { commandOf } from '../../containers/create.js';
import type { ContainerDeps } from '../../containers/deps.js';
import { containerGraphDriver, imageGraphDriver } from '../../containers/layers-view.js';
import type { ContainerRecord } from '../../store/containers.js';
import { openContainerStore, openImageStore, storeRoot } from '../compose.js';
import { formatAge, formatBytes, formatTable } from '../format.js';

interface RootFlags {
  root?: string;
}

const shortId = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** `name:tag` → [repository, tag] the way `docker images` splits it. */
function splitName(name: string): [string, string] {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

export async function imagesCommand(flags: RootFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  const images = (await listImages(store)).sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  for (const image of images) {
    for (const name of image.tags)
      rows.push([...splitName(name), shortId(image.id), formatAge(image.created), formatBytes(image.size)]);
  }
  process.stdout.write(`${formatTable(rows)}\n`);
}

/** The fields of `docker image inspect`, from the store. */
function inspectView(image: ResolvedImage, tags: string[]) {
  const { config } = image;
  return {
    Id: image.configDigest,
    RepoTags: tags,
    RepoDigests: [],
    Parent: '',
    Comment: '',
    Created: config.created ?? '',
    Author: config.author ?? '',
    Config: config.config,
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: image.layers.reduce((sum, layer) => sum + layer.size, 0),
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    History: config.history,
    Metadata: { ManifestDigest: image.manifestDigest },
  };
}

export async function inspectCommand(names: string[], flags: RootFlags): Promise<void> {
  const deps = await openContainerStore(storeRoot(flags.root));
  const all = await deps.store.tags.list();
  const views = [];
  for (const name of names) {
    // As `docker inspect`: a container by that name or ID first, else an image.
    const container = await deps.containers.find(name).catch(() => undefined);
    if (container !== undefined) {
      views.push(await containerInspectView(deps, container));
      continue;
    }
    const image = await resolveImage(deps.store, name);
    const tags = all
      .filter((entry) => entry.manifest.digest === image.manifestDigest)
      .map((entry) => entry.name)
      .sort();
    views.push({ ...inspectView(image, tags), GraphDriver: await imageGraphDriver(deps, image) });
  }
  process.stdout.write(`${JSON.stringify(views, null, 4)}\n`);
}

/** The fields of `docker container inspect` that tzbuild has. */
async function containerInspectView(deps: ContainerDeps, record: ContainerRecord) {
  const [path = '', ...args] = commandOf(record);
  const { state } = record;
  return {
    Id: record.id,
    Created: record.created,
    Path: path,
    Args: args,
    State: {
      Status: state.status,
      Running: state.status === 'running',
      ExitCode: state.exitCode,
      StartedAt: state.startedAt ?? '',
      FinishedAt: state.finishedAt ?? '',
    },
    Image: record.image.id,
    LogPath: record.config.Tty ? '' : deps.containers.dirs(record.id).log,
    Name: `/${record.name}`,
    HostConfig: {
      Binds: record.hostConfig.binds,
      NetworkMode: record.hostConfig.network,
      AutoRemove: record.hostConfig.autoRemove,
    },
    GraphDriver: await containerGraphDriver(deps, record),
    Config: { ...record.config, Image: record.image.name },
  };
}

export async function historyCommand(name: string, flags: RootFlags & { trunc: boolean }): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const image = await resolveImage(store, name);
  const layers = [...image.layers];
  // History entries that are not empty consume the layers in order.
  // An AUTHOR column only for images that record one (`commit -a`); docker shows none.
  const authored = image.config.history.some((entry) => entry.author);
  const rows = image.config.history
    .map((entry) => {
      const size = entry.empty_layer ? 0 : (layers.shift()?.size ?? 0);
      const createdBy = entry.created_by ?? '';
      const shown = flags.trunc && createdBy.length > 45 ? `${createdBy.slice(0, 44)}…` : createdBy;
      const row = ['<missing>', formatAge(entry.created), shown, formatBytes(size), entry.comment ?? ''];
      return authored ? [...row, entry.author ?? ''] : row;
    })
    .reverse();
  if (rows[0] !== undefined) rows[0][0] = flags.trunc ? shortId(image.configDigest) : image.configDigest;
  const header = ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT', ...(authored ? ['AUTHOR'] : [])];
  process.stdout.write(`${formatTable([header, ...rows])}\n`);
}

export async function tagCommand(source: string, target: string, flags: RootFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const image = await resolveImage(store, source);
  const size = await store.content.size(image.manifestDigest);
  await store.tags.set(normalizeName(target), manifestDescriptor({ digest: image.manifestDigest, size }, image.config));
}

export async function rmiCommand(names: string[], flags: RootFlags): Promise<void> {
  const deps = await openContainerStore(storeRoot(flags.root));
  const store = deps.store;
  for (const name of names) {
    await refuseIfInUse(deps, name);
    if (!(await removeTag(store, name))) throw new StoreError(`No such image: ${name}`, 'IMAGE_NOT_FOUND');
    process.stdout.write(`Untagged: ${normalizeName(name)}\n`);
  }
}

/** As docker: the last name of an image a container uses is kept until the container goes. */
async function refuseIfInUse(deps: ContainerDeps, name: string): Promise<void> {
  const tagged = await deps.store.tags.resolve(normalizeName(name)).catch(() => undefined);
  if (tagged === undefined) return;
  const names = (await deps.store.tags.list()).filter((entry) => entry.manifest.digest === tagged.digest);
  const users = (await deps.containers.imagesInUse()).get(tagged.digest);
  if (names.length > 1 || users === undefined || users[0] === undefined) return;
  throw new StoreError(
    `unable to remove ${normalizeName(name)}: container ${users[0].name} (${users[0].id.slice(0, 12)}) uses it ` +
      `(tzbuild rm ${users[0].name} first)`,
    'IMAGE_IN_USE',
  );
}

export async function systemDfCommand(flags: RootFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const usage = await diskUsage(store);
  const saved = usage.totalImageSize === 0 ? 0 : Math.round((usage.sharedSize / usage.totalImageSize) * 100);
  process.stdout.write(
    `${formatTable([
      ['TYPE', 'TOTAL', 'SIZE', 'SHARED', 'ON DISK'],
      [
        'Images',
        String(usage.images),
        formatBytes(usage.totalImageSize),
        `${formatBytes(usage.sharedSize)} (${saved}%)`,
        formatBytes(usage.uniqueLayerSize),
      ],
    ])}\n`,
  );
  process.stdout.write(`Layers shared by several images are stored once: ${formatBytes(usage.sharedSize)} saved.\n`);
}
