/**
 * The seams of tzbuild, in one place. Each interface below is a boundary between modules; the
 * paragraph above it says what an implementation guarantees. Only `cli/compose.ts` (the
 * composition root) constructs the concrete implementations.
 *
 * Imports point down: cli → checks → builder → cache | runners → registry | archive → store →
 * layers → sys → core (docs/architecture.md; test/unit/architecture.test.ts enforces it). These are
 * type-only contracts.
 */
import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Descriptor, Digest, ImageConfig, ImageManifest, Platform } from './oci.js';

// ───────────────────────────────────────────── content ──

/**
 * ContentStore: blobs by digest, in an OCI image layout (`blobs/sha256/<hex>`).
 * Guarantees: a blob path exists only after its bytes were verified against its digest (written
 * under `ingest/`, fsynced, renamed into place), so a crash never leaves a torn blob. Writing a blob
 * that already exists is a cheap no-op. Reads of JSON are size-limited.
 */
export interface ContentStore {
  readonly root: string;
  has(digest: Digest): Promise<boolean>;
  /** Absolute path of a blob, for streaming reads. Throws StoreError on a malformed digest. */
  blobPath(digest: Digest): string;
  size(digest: Digest): Promise<number>;
  /** Stores bytes; returns their digest and size. */
  putBytes(data: Uint8Array | string): Promise<{ digest: Digest; size: number }>;
  /** Stores a stream; when `expected` is given a mismatch is an error and nothing is kept. */
  putStream(stream: Readable, expected?: Digest): Promise<{ digest: Digest; size: number }>;
  /** Parses a JSON blob, refusing blobs over `maxBytes` (default 4 MiB). */
  getJson<T>(digest: Digest, maxBytes?: number): Promise<T>;
  delete(digest: Digest): Promise<void>;
  list(): Promise<Digest[]>;
}

/**
 * TagStore: names → manifest descriptors, kept in the layout's `index.json` with the
 * `org.opencontainers.image.ref.name` annotation holding the full name (`app:1`).
 * Guarantees: updates are atomic (write temp + rename); readers never see a torn index.
 */
export interface TagStore {
  resolve(name: string): Promise<Descriptor | undefined>;
  set(name: string, manifest: Descriptor): Promise<void>;
  remove(name: string): Promise<boolean>;
  list(): Promise<{ name: string; manifest: Descriptor }[]>;
}

// ───────────────────────────────────────────── layers ──

/** One entry of a layer, as the layer writer streams it into a tar. */
export interface LayerEntry {
  /** Path inside the layer, relative, `/`-separated, no leading `./` or `/` (dirs without trailing /). */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'whiteout' | 'opaque';
  /** Permission bits including setuid/setgid/sticky (no type bits). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (clamped by the writer when SOURCE_DATE_EPOCH is set). */
  mtime: number;
  size?: number;
  /** Symlink target, or for hardlinks the in-layer path linked to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (name → raw value), e.g. `security.capability`. */
  xattrs?: Record<string, Buffer>;
  /** Host file the content is read from (files only). */
  source?: string;
  /** In-memory content (heredocs, small generated files), used when `source` is absent. */
  content?: Buffer;
}

/** A layer that exists in the store: uncompressed tar, so digest = diff ID. */
export interface LayerRef {
  diffId: Digest;
  size: number;
}

/**
 * Snapshotter: each layer unpacked once into `snapshots/<chainID>/` in overlay format (whiteouts
 * as 0/0 char devices, opaque dirs marked `trusted.overlay.opaque=y`), read-only, shared by every
 * build. Guarantees: `prepare` returns only complete snapshots (unpacked in a temp dir, renamed into
 * place); unpacking never writes outside the snapshot root whatever the tar contains.
 */
export interface Snapshotter {
  /** Makes sure every layer of the chain is unpacked; returns their dirs, lowest first. */
  prepare(layers: LayerRef[]): Promise<string[]>;
  /**
   * Takes `dir`, holding exactly the top layer of `layers` (the layer was just written from it or
   * with it), as that layer's snapshot: moved into place, not unpacked again. `dir` is an overlay
   * upperdir (`from: 'upperdir'`, the default: overlay's bookkeeping is cleared first) or the
   * layer writer's same-pass unpack (`'unpacked'`). False when the snapshot already exists; `dir`
   * is then left to the caller. `files`: the layer writer's file list of the dir, kept with the
   * snapshot for the next build of the step ({@link existing}).
   */
  adopt?(layers: LayerRef[], dir: string, from?: 'upperdir' | 'unpacked', files?: string): Promise<boolean>;
  /**
   * The dir of the top layer's snapshot when it is complete already (leased for this process, so
   * it stays), else undefined; never unpacks.
   */
  existing?(layers: LayerRef[]): Promise<ExistingSnapshot | undefined>;
  /**
   * The merged filesystem of `layers` as a container would see it, read from the snapshots
   * without a mount (cheap: what COPY's destination checks, WORKDIR and user lookups use).
   */
  view(layers: LayerRef[]): Promise<ImageView>;
  /**
   * A directory showing the merged filesystem of `layers`, read-only, until `close` (a mount when
   * there are several layers): for the steps that walk a whole tree (COPY --from, RUN --mount).
   */
  mount(layers: LayerRef[]): Promise<MountedView>;
}

/**
 * What a step can ask of an image's filesystem. Paths are absolute in the image and resolved as
 * the container would resolve them: symlinks, absolute ones included, never lead out of the root.
 */
export interface ImageView {
  /** `path` with every symlink followed, as an absolute image path. */
  resolve(path: string): Promise<string>;
  /** Stats of what `path` names, symlinks followed; undefined when absent or deleted. */
  stat(path: string): Promise<Stats | undefined>;
  /** A file's text; '' when absent. */
  readText(path: string): Promise<string>;
}

/** A host directory showing an image's filesystem, until {@link MountedView.close}. */
export interface MountedView {
  root: string;
  close(): Promise<void>;
}

/** How {@link LayerWriter.write} writes a layer. */
export interface LayerWriteOptions {
  sourceDateEpoch?: number;
  unpackInto?: string;
  sameFilesFrom?: ExistingSnapshot;
}

/** A complete snapshot and the file list its writer recorded (layers/earlier-files.ts), if any. */
export interface ExistingSnapshot {
  dir: string;
  files?: string;
}

/**
 * LayerWriter: turns entries into a deterministic, uncompressed layer tar in the content store.
 * Guarantees: the same entries (in the same order) give the same bytes and so the same diff ID.
 */
export interface LayerWriter {
  /**
   * With `unpackInto` (an empty dir on the store's filesystem), the layer is also unpacked there,
   * in overlay format, in the same pass: the dir is then what unpacking the layer would give,
   * ready for {@link Snapshotter.adopt} with `'unpacked'`. With it, `sameFilesFrom` (the earlier
   * snapshot of the same step over the same layers below) lends the files that are the same there.
   */
  write(
    entries: AsyncIterable<LayerEntry>,
    options?: LayerWriteOptions,
  ): Promise<LayerRef & { entries: number; files?: string }>;
  /** The entries of an overlay upperdir: changes as files, deletions as whiteouts, sorted. */
  fromUpperdir(dir: string): AsyncIterable<LayerEntry>;
}

/** ImageCommitter: writes config + manifest blobs and points tags at the manifest. */
export interface ImageCommitter {
  commit(config: ImageConfig, layers: LayerRef[], tags: string[]): Promise<{ imageId: Digest; manifestDigest: Digest }>;
  /**
   * A multi-platform image: an OCI index of images already committed (each manifest with its
   * platform), `tags` pointing at the index. Returns the index digest.
   */
  commitIndex(manifests: Digest[], tags: string[]): Promise<Digest>;
}

// ───────────────────────────────────────────── running ──

export interface RunSpec {
  /** Snapshot dirs of the parent image, lowest first (may be empty for scratch). */
  lowerdirs: string[];
  /** Empty dir that becomes the step's layer (overlay upperdir). */
  upperdir: string;
  /** Empty scratch dir on the same filesystem as upperdir (overlay workdir). */
  workdir: string;
  /** argv to execute (already shell-wrapped for shell form). */
  args: string[];
  env: string[];
  cwd: string;
  /** Numeric ids, already resolved against the image's /etc/passwd. */
  uid: number;
  gid: number;
  additionalGids?: number[];
  hostname?: string;
  /** `host` shares the host's network; `none` gives the step only a loopback device. */
  network?: 'host' | 'none';
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  signal?: AbortSignal;
  /**
   * Takes what is left to tidy once the step's processes and mounts are gone (a stopped
   * container's cgroups, a scratch dir): given it, a runner may resolve `run` first and hand that
   * work over (the builder's StepContext.tidy, which the build waits for before it ends); without
   * it, `run` settles only when that is done too.
   */
  tidy?: (work: Promise<unknown>) => void;
  /**
   * Extra mounts of the step (RUN --mount, heredoc scripts), applied in order after the system
   * mounts. Their mountpoints never reach the upperdir: the runner provides missing ones from its
   * init layer (or from the /dev tmpfs for targets under /dev).
   */
  mounts?: RunMount[];
  /**
   * A container run (`tzbuild run`) instead of a build step: the process uses tzbuild's own stdio.
   * `stdin`: fd 0 is tzbuild's (else /dev/null). `tty`: the runtime gives the process a new
   * pseudo-terminal and relays it to tzbuild's terminal (raw mode, resizes follow); stdout and
   * stderr are then that terminal and `onOutput` gets nothing. Signals tzbuild gets from its
   * terminal reach the process, not tzbuild.
   */
  attach?: { stdin: boolean; tty: boolean };
}

/**
 * One extra mount of a RUN step. `target` is an absolute path inside the step; symlinks in the
 * image along it are followed, staying inside the rootfs (as runc resolves mount destinations).
 */
export interface RunMount {
  /**
   * `bind`: the host file or directory `source`. `layers`: `subpath` of the merged view of
   * `lowerdirs` (a stage's or image's snapshots, lowest first). `tmpfs`: a fresh tmpfs.
   */
  kind: 'bind' | 'layers' | 'tmpfs';
  target: string;
  /** bind: absolute host path of the file or directory to mount. */
  source?: string;
  /** layers: snapshot dirs, lowest first (empty for scratch). */
  lowerdirs?: string[];
  /** layers: the path inside the merged view, relative, symlinks already resolved (default: the root). */
  subpath?: string;
  readonly: boolean;
  /**
   * Writable bind/layers mounts only: the step's writes go to a throwaway copy-on-write layer and
   * are discarded when it ends (BuildKit's `type=bind,rw`). Without it writes reach `source`.
   */
  discardWrites?: boolean;
  /** tmpfs: size limit as tmpfs takes it (bytes, or with a k/m/g suffix). */
  size?: string;
}

export interface RunResult {
  exitCode: number;
  /** Set when the process was killed by a signal. */
  signal?: string;
}

/**
 * Runner: executes one RUN step over an overlay of the parent's snapshots.
 * Guarantees: the process sees only the merged rootfs (no host files); all changes land in
 * `upperdir`; when `run` settles, every mount and process it created is gone.
 */
export interface Runner {
  readonly name: string;
  run(spec: RunSpec): Promise<RunResult>;
}

// ───────────────────────────────────────────── cache ──

/** What a step produced, enough to replay it without running it. */
export interface CacheRecord {
  /** The layer the step added, or undefined for a config-only step. */
  layer?: LayerRef;
  /** How long the step took when it ran (ms), to report the time a hit saved. */
  durationMs: number;
  created: string;
}

/**
 * CacheStore: step cache key → CacheRecord, persistent across runs (on disk under `cache/`,
 * an lru-cache in front). A miss is `undefined`, never an error. Records are written after
 * their layer blob is in the store, so a record never points at a missing layer.
 */
export interface CacheStore {
  get(key: string): Promise<CacheRecord | undefined>;
  put(key: string, record: CacheRecord): Promise<void>;
  /** What a step's key was made of last time (for "why did this miss?"), keyed by step identity. */
  getInputs(identity: string): Promise<Record<string, string> | undefined>;
  putInputs(identity: string, inputs: Record<string, string>): Promise<void>;
  /**
   * Adds one build's step outcomes to the history of a Dockerfile (`identity`: its context and
   * path), what `tzbuild check` reads for its cache advice. Append-only and bounded: only the
   * newest {@link buildHistoryLength} builds are kept. Not part of any key: a lost or torn entry
   * only costs advice (readers skip what they cannot parse).
   */
  appendHistory(identity: string, build: BuildHistoryEntry): Promise<void>;
  /**
   * The recorded builds of a Dockerfile, oldest first, at most {@link buildHistoryLength}; empty
   * when there are none. Reads only: no lock, nothing created.
   */
  readHistory(identity: string): Promise<BuildHistoryEntry[]>;
  /**
   * Runs `work` (look the key up and, on a miss, run the step and record it) so that two
   * processes reaching the same missed key at once run the step once: the second waits, then
   * hits. A store shared by no other process may simply run `work`.
   */
  lock<T>(key: string, work: () => Promise<T>): Promise<T>;
  /**
   * Told of every record a build used (hit or newly written), with the stage it belongs to, so a
   * cache export (`--cache-to`) knows what to send. Optional: stores that export nothing omit it.
   */
  noteUsed?(key: string, record: CacheRecord, scope: CacheUseScope): void;
}

/** How many builds of one Dockerfile the cache history keeps (CacheStore.appendHistory). */
export const buildHistoryLength = 20;

/** One build of a Dockerfile, as the cache history keeps it. */
export interface BuildHistoryEntry {
  /** Version of this shape; readers skip entries of another. */
  v: 1;
  /** When the build ended (ISO 8601). */
  time: string;
  /** The target stage (its name, or its index as a string). */
  target: string;
  /** Every step that met the cache (FROM steps do not), in the order they were announced. */
  steps: StepHistory[];
}

/** How one step met the cache in one build. */
export interface StepHistory {
  /** `<stage index>.<instruction index>` (as in progress events). */
  stepId: string;
  /** 1-based Dockerfile line of the instruction. */
  line: number;
  /** The instruction as written (cut to 200 characters). */
  instruction: string;
  /** Short hash of the whole instruction text: finds the step again after lines moved. */
  instructionHash: string;
  cached: boolean;
  /** A miss: why, in words (cache/keys.ts explainMiss). */
  reason?: string;
  /**
   * A miss: the names of the inputs that differ from the previous build of the step (`arg:X`,
   * `file:P`, `base` …), at most 100 of them.
   */
  changed?: string[];
  /** A miss: how many inputs changed, when more than `changed` lists. */
  changedCount?: number;
}

/** Where a used record sits in the build: `inFinalImage` when its stage's layers end up in the image. */
export interface CacheUseScope {
  stage: number;
  inFinalImage: boolean;
}

// ───────────────────────────────────────────── images ──

/** A fully resolved image: manifest and config from the store. */
export interface ResolvedImage {
  manifestDigest: Digest;
  manifest: ImageManifest;
  config: ImageConfig;
  configDigest: Digest;
  layers: LayerRef[];
  /**
   * For an image pulled from a registry: the manifest digest the registry gave it (the store
   * keeps its own manifest, for the uncompressed layers). What a FROM resolved to.
   */
  registryDigest?: Digest;
  /** When the reference named a multi-platform image: the index this image was picked from. */
  indexDigest?: Digest;
}

/**
 * When a base image is pulled: `missing` (the default) when the store lacks it, `always` to ask
 * the registry again for what a tag names now, `never` to use the store only (offline).
 */
export type PullPolicy = 'missing' | 'always' | 'never';

/** One layer of an image being pulled: `bytes` of `total` (compressed) moved. */
export interface LayerProgress {
  /** The layer's blob digest in the registry. */
  digest: Digest;
  /** `exists`: the store has it already; `downloading` as bytes arrive; `done` once stored. */
  phase: 'exists' | 'downloading' | 'done';
  bytes: number;
  total: number;
}

/** How one {@link ImageSource.resolve} may reach the network and what it reports on the way. */
export interface ResolveOptions {
  pull?: PullPolicy;
  /**
   * The platform wanted: a multi-platform image (an index) resolves to its manifest for it (the
   * host's when not given). A single-platform image is returned as it is; the caller compares.
   */
  platform?: Platform;
  onProgress?: (progress: LayerProgress) => void;
  /** One line about something the user should know that is not a failure (a mirror that failed). */
  onNotice?: (line: string) => void;
}

/**
 * ImageSource: turns a FROM/`--from` reference into an image in the store, pulling it from a
 * registry (or a mirror) as the pull policy allows. Guarantees: on success every layer blob of the
 * returned image is present in the content store; on failure nothing half-pulled is tagged or
 * stored (blobs are verified before they land, the tag comes last).
 */
export interface ImageSource {
  resolve(reference: string, options?: ResolveOptions): Promise<ResolvedImage>;
}

/** Where `--output` sends a built image besides the store (Docker's `type=…,dest=…`). */
export interface ExportTarget {
  /**
   * `docker`/`oci`: an archive `docker load` and OCI tools read; `local`: the filesystem as a directory; `tar`: as one
   * tar.
   */
  type: 'docker' | 'oci' | 'local' | 'tar';
  dest: string;
}

/**
 * Exporter: writes an image of the store out as `target` says. Guarantees: nothing is written
 * outside `dest`; the filesystem written is the one a container of the image sees (whiteouts
 * applied, device nodes of layers dropped as in the snapshots).
 */
export interface Exporter {
  /** `image` is an ID or a tag; `tags` name it inside an archive (none: the archive names it by ID). */
  export(image: string, tags: string[], target: ExportTarget): Promise<void>;
}

// ───────────────────────────────────────────── progress ──

export type StepStatus = 'cached' | 'done' | 'failed';

/** Everything the builder reports, as plain data. Sinks render it; the builder never prints. */
export type BuildEvent =
  | { type: 'build.start'; time: number; steps: number; stages: number }
  | { type: 'stage.start'; time: number; stage: string }
  | {
      type: 'step.start';
      time: number;
      stepId: string;
      stage: string;
      index: number;
      total: number;
      text: string;
      line: number;
    }
  | { type: 'step.cached'; time: number; stepId: string; savedMs: number }
  | { type: 'step.miss'; time: number; stepId: string; reason: string }
  | { type: 'step.output'; time: number; stepId: string; stream: 'stdout' | 'stderr'; line: string }
  | {
      /** A layer of a base image (FROM, COPY --from) being pulled: `bytes` of `total`, per layer. */
      type: 'step.progress';
      time: number;
      stepId: string;
      layer: Digest;
      phase: LayerProgress['phase'];
      bytes: number;
      total: number;
    }
  | { type: 'step.done'; time: number; stepId: string; durationMs: number; layerSize?: number }
  | { type: 'step.failed'; time: number; stepId: string; message: string }
  | {
      type: 'build.done';
      time: number;
      imageId: Digest;
      manifestDigest: Digest;
      tags: string[];
      cached: number;
      ran: number;
      /** Bytes of the image's layers (as stored, uncompressed). */
      size: number;
    }
  /**
   * After a build (or dry run) whose Dockerfile has build check findings (docs/checks.md): sent
   * by the CLI, which runs the checks, so sinks can end with a short "N warnings" summary.
   */
  | { type: 'build.warnings'; time: number; warnings: BuildWarning[] };

/** One build check finding as a build reports it (`tzbuild check` shows the details). */
export interface BuildWarning {
  /** The rule's name (`JSONArgsRecommended`). */
  rule: string;
  /** 1-based Dockerfile line. */
  line: number;
  message: string;
}

/** ProgressSink: receives events in order. Must not throw and must not block the build. */
export interface ProgressSink {
  emit(event: BuildEvent): void;
  close?(): Promise<void>;
}
