/** `images`, `inspect`, `history`, `tag`, `rmi`, `system df`: reading and naming what the store holds. */
import { StoreError } from '../../core/errors.js';
import { diskUsage, listImages, manifestDescriptor, removeTag, resolveImage } from '../../store/images.js';
import { normalizeName } from '../../store/tag-store.js';
import type { ResolvedImage } from '../../core/ports.js';
import { openImageStore, storeRoot } from '../compose.js';
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
  const store = await openImageStore(storeRoot(flags.root));
  const all = await store.tags.list();
  const views = [];
  for (const name of names) {
    const image = await resolveImage(store, name);
    const tags = all
      .filter((entry) => entry.manifest.digest === image.manifestDigest)
      .map((entry) => entry.name)
      .sort();
    views.push(inspectView(image, tags));
  }
  process.stdout.write(`${JSON.stringify(views, null, 4)}\n`);
}

export async function historyCommand(name: string, flags: RootFlags & { trunc: boolean }): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const image = await resolveImage(store, name);
  const layers = [...image.layers];
  // History entries that are not empty consume the layers in order.
  const rows = image.config.history
    .map((entry) => {
      const size = entry.empty_layer ? 0 : (layers.shift()?.size ?? 0);
      const createdBy = entry.created_by ?? '';
      const shown = flags.trunc && createdBy.length > 45 ? `${createdBy.slice(0, 44)}…` : createdBy;
      return ['<missing>', formatAge(entry.created), shown, formatBytes(size), entry.comment ?? ''];
    })
    .reverse();
  if (rows[0] !== undefined) rows[0][0] = flags.trunc ? shortId(image.configDigest) : image.configDigest;
  process.stdout.write(`${formatTable([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows])}\n`);
}

export async function tagCommand(source: string, target: string, flags: RootFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const image = await resolveImage(store, source);
  const size = await store.content.size(image.manifestDigest);
  await store.tags.set(normalizeName(target), manifestDescriptor({ digest: image.manifestDigest, size }, image.config));
}

export async function rmiCommand(names: string[], flags: RootFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  for (const name of names) {
    if (!(await removeTag(store, name))) throw new StoreError(`No such image: ${name}`, 'IMAGE_NOT_FOUND');
    process.stdout.write(`Untagged: ${normalizeName(name)}\n`);
  }
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
