/**
 * The same-pass unpack: while the layer writer streams a layer into the store, each entry is also
 * applied into the dir that becomes the layer's snapshot, its body from the very bytes written to
 * the tar (so the dir is what unpacking the layer would give, without reading it back).
 *
 * On the writer's thread: a worker thread for it was tried (bodies copied into batches, at most a
 * few in flight) and was slower, on two cores, than doing it here (docs/benchmarks.md).
 */
import path from 'node:path';
import { StoreError } from '../core/errors.js';
import type { ExistingSnapshot } from '../core/ports.js';
import { storeWriteError } from '../sys/io-errors.js';
import type { FileBodySink } from './apply-node.js';
import {
  type EarlierFile,
  EarlierSnapshot,
  fileDigest,
  formatFileList,
  listable,
  listedMaxBytes,
} from './earlier-files.js';
import { LayerApplier } from './layer-apply.js';
import { type TarHeader, whiteoutPrefix } from './tar-format.js';

/** How the snapshot is made. */
export interface SamePassOptions {
  /** An earlier snapshot of the same step to share identical files with (earlier-files.ts). */
  sameFilesFrom?: ExistingSnapshot;
}

/** Names the dir in errors. */
const label = 'the snapshot of the layer being written';

/** The same-pass unpack on the calling thread. */
export class SamePassUnpack {
  private file: SnapshotFile | undefined;
  /** The current entry when it is a small file: its body is kept for its digest. */
  private small: { header: TarHeader; body: Buffer[] } | undefined;
  /** The file list: small files by entry path → digest. */
  private readonly files = new Map<string, string>();

  private constructor(
    private readonly applier: LayerApplier,
    private readonly earlier: EarlierSnapshot | undefined,
  ) {}

  static async open(dir: string, options: SamePassOptions = {}): Promise<SamePassUnpack> {
    const applier = await LayerApplier.open(dir, { format: 'overlay', fresh: true, label });
    const earlier = options.sameFilesFrom === undefined ? undefined : new EarlierSnapshot(options.sameFilesFrom);
    return new SamePassUnpack(applier, earlier);
  }

  async entry(header: TarHeader): Promise<void> {
    this.small = isSmallFile(header) ? { header, body: [] } : undefined;
    // With the earlier snapshot's file list, a small file is decided at its end, on its digest.
    if (this.small !== undefined && this.earlier?.hasList === true) this.file = undefined;
    else this.file = await snapshotFile(this.applier, header, this.earlier);
  }

  /**
   * Bytes of the current file's body. A small file's pieces are kept until its end: the writer
   * never reuses a buffer it handed out.
   */
  piece(bytes: Buffer): void | Promise<void> {
    this.small?.body.push(bytes);
    return this.file?.write(bytes);
  }

  async endEntry(): Promise<void> {
    const { file, small, applier } = this;
    this.file = undefined;
    this.small = undefined;
    if (small === undefined) return file?.end();
    const { header, body } = small;
    const digest = fileDigest(header, body);
    if (listable(header.name)) this.files.set(header.name, digest);
    if (file !== undefined) return file.end();
    const same = this.earlier?.listedFile(header, digest);
    if (same !== undefined && unpackedSync(applier, () => applier.linkFile(header, same))) return;
    const sink = await unpacked(applier, () => applier.begin(header));
    if (sink === undefined) return;
    unpackedSync(applier, () => {
      for (const piece of body) sink.write(piece);
      sink.end();
    });
  }

  /** Completes the dir (directory times). */
  async finish(): Promise<void> {
    this.earlier?.close();
    await unpacked(this.applier, () => this.applier.finish());
  }

  /** After a failure (the caller discards the dir). */
  async abandon(): Promise<void> {
    this.earlier?.close();
    await this.applier.abandon();
  }

  /** The snapshot's file list (earlier-files.ts), for the next build of the step. */
  fileList(): string {
    return formatFileList(this.files);
  }
}

/** A regular file with a body of at most {@link listedMaxBytes} (not overlay's whiteout name). */
function isSmallFile(header: TarHeader): boolean {
  if (header.type !== 'file' || header.size === 0 || header.size > listedMaxBytes) return false;
  return !path.posix.basename(header.name).startsWith(whiteoutPrefix);
}

/** Where one entry goes: its body is pushed through `write`, then `end`. */
interface SnapshotFile {
  write(piece: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

/** Applies `header`: a file the earlier snapshot may already hold is decided on its bytes. */
async function snapshotFile(
  unpack: LayerApplier,
  header: TarHeader,
  earlier: EarlierSnapshot | undefined,
): Promise<SnapshotFile | undefined> {
  const candidate = earlier === undefined ? undefined : unpackedSync(unpack, () => earlier.candidate(header));
  if (candidate !== undefined) return new PerhapsEarlierFile(unpack, header, candidate);
  const sink = await unpacked(unpack, () => unpack.begin(header));
  if (sink === undefined) return undefined;
  return {
    write: (piece) => unpackedSync(unpack, () => sink.write(piece)),
    end: () => unpackedSync(unpack, () => sink.end()),
  };
}

/**
 * A file whose bytes the earlier snapshot may have: nothing is written while they match; at the
 * end it is a hardlink to that file. At the first difference it becomes a file of its own, its
 * matched start copied from the earlier one.
 */
class PerhapsEarlierFile implements SnapshotFile {
  private sink: FileBodySink | undefined;

  constructor(
    private readonly unpack: LayerApplier,
    private readonly header: TarHeader,
    private readonly earlier: EarlierFile,
  ) {}

  async write(piece: Buffer): Promise<void> {
    if (this.sink === undefined && unpackedSync(this.unpack, () => this.earlier.matches(piece))) return;
    const sink = this.sink ?? (await this.start());
    unpackedSync(this.unpack, () => sink.write(piece));
  }

  async end(): Promise<void> {
    const { unpack, header, earlier } = this;
    if (
      this.sink === undefined &&
      earlier.complete &&
      unpackedSync(unpack, () => unpack.linkFile(header, earlier.path))
    ) {
      earlier.take();
      earlier.close();
      return;
    }
    const sink = this.sink ?? (await this.start());
    unpackedSync(unpack, () => sink.end());
  }

  /** Creates the file after all, with the bytes matched so far. */
  private async start(): Promise<FileBodySink> {
    const sink = await unpacked(this.unpack, () => this.unpack.begin(this.header));
    if (sink === undefined) throw new StoreError(`${label}: ${this.header.name} is not a file`, 'BAD_ENTRY');
    unpackedSync(this.unpack, () => {
      this.earlier.copyInto((piece) => sink.write(piece));
      this.earlier.close();
    });
    this.sink = sink;
    return sink;
  }
}

/** Runs one step of the same-pass unpack, its errors explained as an unpack's are. */
async function unpacked<T>(unpack: LayerApplier, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw unpackError(unpack, err);
  }
}

function unpackedSync<T>(unpack: LayerApplier, step: () => T): T {
  try {
    return step();
  } catch (err) {
    throw unpackError(unpack, err);
  }
}

/** A full disk or I/O error says it was the snapshot being written (not the blob), and where. */
function unpackError(unpack: LayerApplier, err: unknown): unknown {
  return storeWriteError(unpack.explain(err), `writing the layer's snapshot into ${unpack.root}`);
}
