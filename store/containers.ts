/**
 * Containers in the store: `containers/<id>/` holds `config.json` (the record below), `upper/` and
 * `work/` (the container's writable layer and overlay's scratch), `merged/` (where `tzbuild mount`
 * shows it) and `log` (the output of the last run without a terminal). The image's layers stay
 * shared snapshots: a container owns only its writable layer, and the GC keeps the snapshots of
 * every container's image.
 *
 * A record is rewritten whole (temp file + rename), under the container's lock, so a reader never
 * sees half of one. A run records its owner (`<pid>.<start>`): recovery turns the record of a run
 * whose process died into an exited one.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from '../core/errors.js';
import type { Digest } from '../core/oci.js';
import { isOwnerAlive, ownerId, withLock } from '../sys/file-lock.js';
import { removeTree } from '../sys/remove-tree.js';
import { storeLayout } from './layout.js';

/** What a container runs, as `docker inspect` shows it under `Config`. */
export interface ContainerProcessConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  WorkingDir: string;
  /** As given (`-u`) or from the image; resolved against the image's passwd at each run. */
  User: string;
  Hostname: string;
  Tty: boolean;
  OpenStdin: boolean;
  Labels?: Record<string, string>;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  /** The process running it (`<pid>.<start>`), while `running`. */
  owner?: string;
}

export interface ContainerRecord {
  /** 64 hex digits, as Docker's. */
  id: string;
  name: string;
  created: string;
  image: {
    /** The image ID (config digest). */
    id: Digest;
    manifest: Digest;
    /** What the user named it by. */
    name: string;
  };
  config: ContainerProcessConfig;
  hostConfig: {
    /** `HOST:CTR[:ro]`, as given to `-v`. */
    binds: string[];
    network: 'host' | 'none';
    autoRemove: boolean;
  };
  state: ContainerState;
}

/** The directories of one container. */
export interface ContainerDirs {
  dir: string;
  config: string;
  upper: string;
  work: string;
  merged: string;
  log: string;
}

/** Containers in the store at `root`. */
export class ContainerStore {
  readonly dir: string;
  private readonly locks: string;
  private readonly tmp: string;

  constructor(root: string) {
    const layout = storeLayout(root);
    this.dir = layout.containers;
    this.locks = layout.locks;
    this.tmp = layout.tmp;
  }

  dirs(id: string): ContainerDirs {
    const dir = path.join(this.dir, id);
    return {
      dir,
      config: path.join(dir, 'config.json'),
      upper: path.join(dir, 'upper'),
      work: path.join(dir, 'work'),
      merged: path.join(dir, 'merged'),
      log: path.join(dir, 'log'),
    };
  }

  /** A fresh 64-hex id. */
  static newId(): string {
    return randomBytes(32).toString('hex');
  }

  /** Creates the container's dirs and its first record; the name must be free. */
  async create(record: ContainerRecord): Promise<void> {
    await withLock(path.join(this.locks, 'containers-names'), async () => {
      if ((await this.list()).some((other) => other.name === record.name))
        throw new StoreError(
          `the container name "${record.name}" is already in use (tzbuild rm ${record.name} first)`,
          'CONTAINER_NAME_IN_USE',
        );
      const dirs = this.dirs(record.id);
      await mkdir(dirs.dir, { recursive: true, mode: 0o700 });
      // The upperdir's root is the container's `/`: its mode is what every user sees there.
      await mkdir(dirs.upper, { mode: 0o755 });
      await mkdir(dirs.work, { mode: 0o700 });
      await mkdir(dirs.merged, { mode: 0o755 });
      await this.write(record);
    });
  }

  /** Every container's record, oldest first; unreadable ones are left to fsck. */
  async list(): Promise<ContainerRecord[]> {
    const records: ContainerRecord[] = [];
    for (const id of listIds(this.dir)) {
      const record = await this.read(id).catch(() => undefined);
      if (record !== undefined) records.push(record);
    }
    return records.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async read(id: string): Promise<ContainerRecord> {
    const record = JSON.parse(await readFile(this.dirs(id).config, 'utf8')) as ContainerRecord;
    return withLiveState(record);
  }

  /**
   * The container a user names: its full name, its id or an unambiguous id prefix (as Docker
   * resolves them).
   */
  async find(nameOrId: string): Promise<ContainerRecord> {
    const all = await this.list();
    const byName = all.find((record) => record.name === nameOrId || record.name === nameOrId.replace(/^\//, ''));
    if (byName) return byName;
    const byId = /^[a-f0-9]+$/.test(nameOrId) ? all.filter((record) => record.id.startsWith(nameOrId)) : [];
    if (byId.length > 1)
      throw new StoreError(
        `container ID prefix ${nameOrId} is ambiguous (${byId.length} containers match)`,
        'AMBIGUOUS',
      );
    if (byId[0]) return byId[0];
    throw new StoreError(`no such container: ${nameOrId}`, 'CONTAINER_NOT_FOUND');
  }

  /**
   * Changes a record under the container's lock; `change` sees the current one and may throw to
   * refuse (a state check that must not race).
   */
  async update(id: string, change: (record: ContainerRecord) => ContainerRecord): Promise<ContainerRecord> {
    return withLock(this.lockFile(id), async () => {
      const next = change(await this.read(id));
      await this.write(next);
      return next;
    });
  }

  /** Deletes the container's dirs; the caller has checked it is neither running nor mounted. */
  async remove(id: string): Promise<void> {
    // Moved aside first: a half-deleted container is never listed.
    const aside = path.join(this.tmp, `${ownerId()}-rm-${id}`);
    await rename(this.dirs(id).dir, aside);
    await removeTree(aside);
  }

  /** The image manifests containers use: what GC and `rmi` must keep. */
  async imagesInUse(): Promise<Map<Digest, ContainerRecord[]>> {
    const used = new Map<Digest, ContainerRecord[]>();
    for (const record of await this.list())
      used.set(record.image.manifest, [...(used.get(record.image.manifest) ?? []), record]);
    return used;
  }

  private lockFile(id: string): string {
    return path.join(this.locks, `container-${id}`);
  }

  private async write(record: ContainerRecord): Promise<void> {
    const file = this.dirs(record.id).config;
    const temp = `${file}.${ownerId()}.tmp`;
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  }
}

/** A `running` record whose process is gone reads as exited (killed); recovery rewrites it. */
function withLiveState(record: ContainerRecord): ContainerRecord {
  const { state } = record;
  if (state.status !== 'running' || (state.owner !== undefined && isOwnerAlive(state.owner))) return record;
  const { owner: _owner, ...rest } = state;
  return { ...record, state: { ...rest, status: 'exited', exitCode: 137 } };
}

function listIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => /^[a-f0-9]{64}$/.test(name));
}

/**
 * Recovery: the records of runs whose process died are marked exited (137, as a killed process),
 * so `ps` and `start` see them stopped. Their mounts and processes went with the run's scratch dir.
 */
export async function recoverContainers(root: string): Promise<number> {
  const containers = new ContainerStore(root);
  let recovered = 0;
  for (const id of listIds(containers.dir)) {
    const stored = JSON.parse(await readFile(containers.dirs(id).config, 'utf8').catch(() => '{}')) as
      | Partial<ContainerRecord>
      | undefined;
    const owner = stored?.state?.owner;
    if (stored?.state?.status !== 'running' || (owner !== undefined && isOwnerAlive(owner))) continue;
    const now = new Date().toISOString();
    await containers.update(id, (record) => ({ ...record, state: { ...record.state, finishedAt: now } }));
    recovered++;
  }
  return recovered;
}
