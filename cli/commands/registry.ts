/**
 * `pull`, `push`, `login`, `logout`: the registry commands. Progress goes to stderr as one line per
 * blob and phase; the result (name, digest) to stdout. Credentials are Docker's (config.json,
 * credential helpers), so `docker login` and `tzbuild login` are interchangeable.
 */
import { UserError } from '../../core/errors.js';
import {
  eraseCredentials,
  familiarName,
  normalizeRegistryName,
  parsePlatform,
  parseReference,
  pushImage,
  RegistryClient,
  RegistryError,
  storeCredentials,
  type BlobProgress,
  type Credentials,
  type LayerCompression,
} from '../../registry/index.js';
import { endpointsFor } from '../../registry/endpoints.js';
import { listRepositories, listTags } from '../../registry/listing.js';
import { pullThroughMirrors } from '../../registry/mirrors.js';
import { openImageStore, storeRoot } from '../compose.js';
import { registrySettings } from '../registry-settings.js';

export interface CommonFlags {
  root?: string;
  insecureRegistry: string[];
  quiet?: boolean;
}

export interface PushFlags extends CommonFlags {
  compression: LayerCompression;
  compressionLevel?: string;
  format: 'oci' | 'docker';
}

export interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecureRegistry: string[];
}

export async function pullCommand(
  name: string,
  flags: CommonFlags & { platform?: string; allPlatforms?: boolean },
): Promise<void> {
  if (flags.platform !== undefined && flags.allPlatforms)
    throw new UserError('pull: give --platform or --all-platforms, not both', 'USAGE');
  const root = storeRoot(flags.root);
  const store = await openImageStore(root);
  const ref = parseReference(name);
  // Docker Hub names go through the configured mirrors, as a FROM's pull does.
  const result = await pullThroughMirrors(store, ref, {
    settings: await registrySettings(root, flags.insecureRegistry),
    ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
    ...(flags.allPlatforms ? { allPlatforms: true } : {}),
    ...(flags.quiet ? {} : { onProgress: progressPrinter(), onNotice: (line) => process.stderr.write(`${line}\n`) }),
  });
  if (!flags.quiet) process.stderr.write(`Digest: ${result.registryDigest}\nImage ID: ${result.image.configDigest}\n`);
  process.stdout.write(`${result.name}\n`);
}

export async function pushCommand(name: string, flags: PushFlags): Promise<void> {
  const store = await openImageStore(storeRoot(flags.root));
  const level = flags.compressionLevel === undefined ? undefined : Number(flags.compressionLevel);
  if (level !== undefined && !Number.isInteger(level))
    throw new UserError(
      `--compression-level must be an integer, not ${JSON.stringify(flags.compressionLevel)}`,
      'USAGE',
    );
  const result = await pushImage(store, name, {
    insecureRegistries: flags.insecureRegistry,
    compression: flags.compression,
    format: flags.format,
    ...(level !== undefined ? { compressionLevel: level } : {}),
    ...(flags.quiet ? {} : { onProgress: progressPrinter() }),
  });
  if (flags.quiet) {
    process.stdout.write(`${result.digest}\n`);
    return;
  }
  const counts =
    `${result.uploaded} uploaded, ${result.mounted} mounted, ${result.existing} already there, ` +
    `${result.compressed} layers compressed`;
  process.stderr.write(`${counts}\n`);
  process.stdout.write(`${familiarName(parseReference(result.name))}: digest: ${result.digest}\n`);
}

/** `tzbuild catalog REGISTRY`: the repositories it holds, one per line. */
export async function catalogCommand(server: string, flags: CommonFlags): Promise<void> {
  const client = new RegistryClient(normalizeRegistryName(server), {
    insecureRegistries: (await registrySettings(storeRoot(flags.root), flags.insecureRegistry)).insecure,
  });
  try {
    for (const name of await listRepositories(client)) process.stdout.write(`${name}\n`);
  } finally {
    client.close();
  }
}

/**
 * `tzbuild tags REPO`: its tags, one per line. A Docker Hub name is asked of the configured
 * mirrors first, as a pull would be.
 */
export async function tagsCommand(name: string, flags: CommonFlags): Promise<void> {
  const ref = parseReference(name);
  const settings = await registrySettings(storeRoot(flags.root), flags.insecureRegistry);
  const endpoints = endpointsFor(ref, settings);
  for (const [index, endpoint] of endpoints.entries()) {
    const insecure = endpoint.plainHttp ? [...settings.insecure, endpoint.registry] : settings.insecure;
    const client = new RegistryClient(endpoint.registry, { insecureRegistries: insecure });
    try {
      for (const tag of await listTags(client, ref.repository)) process.stdout.write(`${tag}\n`);
      return;
    } catch (error) {
      if (!(error instanceof RegistryError) || index === endpoints.length - 1) throw error;
      process.stderr.write(`mirror ${endpoint.registry} failed (${error.message}); trying the next\n`);
    } finally {
      client.close();
    }
  }
  throw new UserError(`${name}: no registry mirror is configured and hub-fallback is false`, 'REGISTRY_NO_ENDPOINT');
}

export async function loginCommand(server: string, flags: LoginFlags): Promise<void> {
  const registry = normalizeRegistryName(server);
  if (!flags.username) throw new UserError('login: give a user name with -u USER', 'USAGE');
  let password = flags.password;
  if (flags.passwordStdin) {
    if (password !== undefined) throw new UserError('login: --password and --password-stdin are exclusive', 'USAGE');
    password = (await readStdin()).replace(/\r?\n$/, '');
  }
  if (!password) throw new UserError('login: give a password with --password-stdin (or -p)', 'USAGE');
  if (flags.password !== undefined)
    process.stderr.write('WARNING! Using --password via the command line is insecure. Use --password-stdin.\n');
  const credentials: Credentials = { username: flags.username, password };
  // Verify before storing, as `docker login` does: a typo must not be saved.
  const client = new RegistryClient(registry, {
    insecureRegistries: flags.insecureRegistry,
    credentials: async () => credentials,
  });
  try {
    await client.ping();
  } finally {
    client.close();
  }
  await storeCredentials(registry, credentials);
  process.stdout.write('Login Succeeded\n');
}

export async function logoutCommand(server: string): Promise<void> {
  const registry = normalizeRegistryName(server);
  const erased = await eraseCredentials(registry);
  process.stdout.write(erased ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** One stderr line per blob and phase change (not per byte). */
function progressPrinter(): (progress: BlobProgress) => void {
  const last = new Map<string, string>();
  const words: Record<BlobProgress['phase'], string> = {
    exists: 'Already exists',
    downloading: 'Downloading',
    compressing: 'Compressed',
    uploading: 'Pushing',
    mounted: 'Mounted from another repository',
    done: 'Done',
  };
  return (progress) => {
    if (last.get(progress.digest) === progress.phase) return;
    last.set(progress.digest, progress.phase);
    process.stderr.write(`${progress.digest.slice(7, 19)}: ${words[progress.phase]} (${progress.total} bytes)\n`);
  };
}
