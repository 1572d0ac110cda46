/**
 * Registry credentials in Docker's own format, so `docker login` and `tzbuild login` share them:
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) with `auths` (base64 `user:pass`
 * or an identity token), `credHelpers` (per registry) and `credsStore` (default helper), the
 * helpers being `docker-credential-<name> get|store|erase` on PATH. Secrets are only ever returned
 * to the caller; nothing here prints or logs them.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isNotFound } from '../store/content-store.js';
import { RegistryError } from './errors.js';
import { credentialKey, normalizeRegistryName } from './reference.js';

/** A user name and password, or an OAuth identity (refresh) token. */
export interface Credentials {
  username: string;
  password?: string;
  identityToken?: string;
}

/** Where Docker's config lives. */
export interface CredentialOptions {
  /** Directory holding config.json (default `$DOCKER_CONFIG`, else `~/.docker`). */
  configDir?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The parts of config.json we read; other fields are kept as they are when we write. */
interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

/** `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(options: CredentialOptions = {}, env: NodeJS.ProcessEnv = process.env): string {
  return options.configDir ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
}

async function readConfig(file: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as DockerConfigFile) : {};
  } catch (err) {
    throw new RegistryError(`${file} is not valid JSON`, 'BAD_DOCKER_CONFIG', { cause: err });
  }
}

/** Credentials for `registry` (`docker.io`, `localhost:5000`), or undefined when none are configured. */
export async function lookupCredentials(
  registry: string,
  options: CredentialOptions = {},
): Promise<Credentials | undefined> {
  const config = await readConfig(path.join(dockerConfigDir(options), 'config.json'));
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    const fromHelper = await helperGet(helper, credentialKey(registry));
    if (fromHelper !== undefined) return fromHelper;
  }
  const entry = findAuthEntry(config.auths ?? {}, registry);
  return entry === undefined ? undefined : decodeEntry(entry, registry);
}

function findAuthEntry(auths: Record<string, AuthEntry>, registry: string): AuthEntry | undefined {
  for (const [key, entry] of Object.entries(auths)) {
    if (normalizeRegistryName(key) === registry) return entry;
  }
  return undefined;
}

function decodeEntry(entry: AuthEntry, registry: string): Credentials | undefined {
  if (entry.identitytoken) return { username: entry.username ?? '', identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1)
      throw new RegistryError(`docker config: the auth entry for ${registry} is malformed`, 'BAD_DOCKER_CONFIG');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  return undefined;
}

async function helperGet(helper: string, serverUrl: string): Promise<Credentials | undefined> {
  const result = await runHelper(helper, 'get', serverUrl);
  if (result.exitCode !== 0) {
    // The protocol's way of saying "nothing stored for this server".
    if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new RegistryError(
      `docker-credential-${helper} get failed for ${serverUrl} (exit ${result.exitCode})`,
      'CREDENTIAL_HELPER',
    );
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch (err) {
    throw new RegistryError(`docker-credential-${helper} get printed something that is not JSON`, 'CREDENTIAL_HELPER', {
      cause: err,
    });
  }
  if (!parsed.Secret) return undefined;
  // "<token>" as the user name marks an identity token (Docker's convention).
  if (parsed.Username === '<token>') return { username: '', identityToken: parsed.Secret };
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

async function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string) {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper))
    throw new RegistryError(`invalid credential helper name ${JSON.stringify(helper)}`, 'BAD_DOCKER_CONFIG');
  const result = await (await loadExeca())(`docker-credential-${helper}`, [action], {
    input,
    reject: false,
    timeout: 60_000,
  });
  // No exit code: the helper never ran (not on PATH, not executable) or was killed.
  if (result.exitCode === undefined) {
    throw new RegistryError(`credential helper docker-credential-${helper} could not run`, 'CREDENTIAL_HELPER', {
      cause: result,
    });
  }
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * Saves credentials for `registry` the way `docker login` does: through the configured helper,
 * else base64 in `auths` of config.json (written 0600, atomically).
 */
export async function storeCredentials(
  registry: string,
  credentials: Credentials,
  options: CredentialOptions = {},
): Promise<void> {
  const file = path.join(dockerConfigDir(options), 'config.json');
  const config = await readConfig(file);
  const key = credentialKey(registry);
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  const auths = { ...config.auths };
  for (const existing of Object.keys(auths)) if (normalizeRegistryName(existing) === registry) delete auths[existing];
  if (helper) {
    const payload = JSON.stringify({
      ServerURL: key,
      Username: credentials.identityToken ? '<token>' : credentials.username,
      Secret: credentials.identityToken ?? credentials.password ?? '',
    });
    const result = await runHelper(helper, 'store', payload);
    if (result.exitCode !== 0)
      throw new RegistryError(
        `docker-credential-${helper} store failed for ${key} (exit ${result.exitCode})`,
        'CREDENTIAL_HELPER',
      );
    auths[key] = {};
  } else {
    auths[key] = credentials.identityToken
      ? { identitytoken: credentials.identityToken }
      : { auth: Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64') };
  }
  await writeConfig(file, { ...config, auths });
}

/** Forgets the credentials of `registry`; false when there were none. */
export async function eraseCredentials(registry: string, options: CredentialOptions = {}): Promise<boolean> {
  const file = path.join(dockerConfigDir(options), 'config.json');
  const config = await readConfig(file);
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  let erased = false;
  if (helper) erased = (await runHelper(helper, 'erase', credentialKey(registry))).exitCode === 0;
  const auths = { ...config.auths };
  for (const existing of Object.keys(auths)) {
    if (normalizeRegistryName(existing) !== registry) continue;
    delete auths[existing];
    erased = true;
  }
  if (erased) await writeConfig(file, { ...config, auths });
  return erased;
}

/** Writes config.json 0600 via a temp file and rename, so a reader never sees half a file. */
async function writeConfig(file: string, config: DockerConfigFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/** execa is slow to load: only pay for it when a process is actually spawned. */
async function loadExeca() {
  return (await import('execa')).execa;
}
