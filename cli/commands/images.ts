/**
 * `images`, `inspect` (images and containers), `history`, `tag`, `rmi`, `system df`: reading and
 * naming what the store holds.
 */
import { StoreError, UserError } from '../../core/errors.js';
import { MediaType } from '../../core/oci.js';
import { configPlatform, formatPlatform, platformServes, type PlatformSpec } from '../../core/platform.js';
import { parsePlatform } from '../../builder/platform.js';
import {
  diskUsage,
  listImages,
  manifestDescriptor,
  manifestsOf,
  removeTag,
  resolveImage,
  type ImageStore,
} from '../../store/images.js';
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

/** `--platform os/arch[/variant]`: which image of a multi-platform one. */
interface PlatformFlags {
  platform?: string;
}

function platformFlag(flags: PlatformFlags): PlatformSpec | undefined {
  if (flags.platform === undefined) return undefined;
  const platform = parsePlatform(flags.platform);
  if (platform === undefined)
    throw new UserError(`--platform ${flags.platform}: expected os/arch[/variant], e.g. linux/arm64`, 'USAGE');
  return platform;
}

const shortId = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** `name:tag` → [repository, tag] the way `docker images` splits it. */
function splitName(name: string): [string, string] {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

/**
 * One row per name and image; a multi-platform image has a row per platform, and then (or with
 * `--platform`, which keeps only that platform's images) a PLATFORM column shows which.
 */
export async function imagesCommand(flags: RootFlags & PlatformFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const wanted = platformFlag(flags);
  const images = (await listImages(store))
    .filter((image) => {
      const platform = image.platform === undefined ? undefined : parsePlatform(image.platform);
      return wanted === undefined || (platform !== undefined && platformServes(platform, wanted));
    })
    .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  const showPlatform = wanted !== undefined || images.some((image) => image.indexDigest !== undefined);
  const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', ...(showPlatform ? ['PLATFORM'] : []), 'CREATED', 'SIZE']];
  for (const image of images) {
    for (const name of image.tags)
      rows.push([
        ...splitName(name),
        shortId(image.id),
        ...(showPlatform ? [image.platform ?? ''] : []),
        formatAge(image.created),
        formatBytes(image.size),
      ]);
  }
  process.stdout.write(`${formatTable(rows)}\n`);
}

/** The fields of `docker image inspect`, from the store; a multi-platform image lists its platforms. */
function inspectView(image: ResolvedImage, tags: string[], platforms: string[] | undefined) {
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
    Metadata: {
      ManifestDigest: image.manifestDigest,
      ...(image.indexDigest === undefined ? {} : { IndexDigest: image.indexDigest }),
    },
    ...(platforms === undefined ? {} : { Platforms: platforms }),
  };
}

/** The platforms of the index `image` was picked from, in its order. */
async function indexPlatforms(store: ImageStore, image: ResolvedImage): Promise<string[] | undefined> {
  if (image.indexDigest === undefined) return undefined;
  const entries = await manifestsOf(store, image.indexDigest);
  return entries.flatMap((entry) => (entry.platform ? [formatPlatform(entry.platform)] : []));
}

export async function inspectCommand(names: string[], flags: RootFlags & PlatformFlags): Promise<void> {
  const deps = await openContainerStore(storeRoot(flags.root));
  const store = deps.store;
  const all = await store.tags.list();
  const platform = platformFlag(flags);
  const views = [];
  for (const name of names) {
    // As `docker inspect`: a container by that name or ID first, else an image.
    const container = await deps.containers.find(name).catch(() => undefined);
    if (container !== undefined) {
      views.push(await containerInspectView(deps, container));
      continue;
    }
    const image = await resolveImage(store, name, platform);
    const named = image.indexDigest ?? image.manifestDigest;
    const tags = all
      .filter((entry) => entry.manifest.digest === named)
      .map((entry) => entry.name)
      .sort();
    views.push({
      ...inspectView(image, tags, await indexPlatforms(store, image)),
      GraphDriver: await imageGraphDriver(deps, image),
    });
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

export async function historyCommand(
  name: string,
  flags: RootFlags & PlatformFlags & { trunc: boolean },
): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const image = await resolveImage(store, name, platformFlag(flags));
  const platforms = await indexPlatforms(store, image);
  // Which of a multi-platform image's histories this is.
  if (platforms !== undefined) {
    const shown = configPlatform(image.config);
    process.stdout.write(`# ${shown ? formatPlatform(shown) : 'unknown platform'} (of ${platforms.join(', ')})\n`);
  }
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
  // A name for a multi-platform image names its index, every platform.
  if (image.indexDigest !== undefined) {
    const size = await store.content.size(image.indexDigest);
    await store.tags.set(normalizeName(target), { mediaType: MediaType.ociIndex, digest: image.indexDigest, size });
    return;
  }
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
  if (names.length > 1) return;
  // A container names one platform's manifest; the tag may name the index holding it.
  const inUse = await deps.containers.imagesInUse();
  const manifests = await manifestsOf(deps.store, tagged.digest).catch(() => []);
  const users = [tagged.digest, ...manifests.map((entry) => entry.digest)].flatMap((digest) => inUse.get(digest) ?? []);
  if (users[0] === undefined) return;
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
