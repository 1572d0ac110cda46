/**
 * Shared setup for the end-to-end build tests: a store with the busybox base loaded, throwaway
 * build contexts, builds through the real CLI, and ways to look inside the result (the rootfs
 * `umoci unpack` gives, `tzbuild inspect`, the layer blobs listed with `tar`).
 */
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, expect } from 'vitest';
import { makeBusyboxDockerArchive } from './busybox.js';
import { runTzbuild, tempStore, type CliOptions, type CliResult } from './cli.js';

/** The tag the busybox base is loaded under. */
export const BASE = 'busybox:latest';

let scratch: Promise<string> | undefined;
let counter = 0;

afterAll(async () => {
  if (scratch) await rm(await scratch, { recursive: true, force: true });
});

/** A new empty directory under this test file's scratch root (removed after the file). */
export async function tempDir(prefix = 'dir'): Promise<string> {
  scratch ??= mkdtemp(path.join(os.tmpdir(), 'tzbuild-e2e-'));
  const dir = path.join(await scratch, `${prefix}-${++counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A fresh store with the busybox base loaded as `busybox:latest`. */
export async function loadedStore(): Promise<string> {
  const store = await tempStore();
  const archive = await makeBusyboxDockerArchive(path.join(await tempDir('archive'), 'busybox.tar'), BASE);
  const loaded = await runTzbuild(['load', '--root', store, archive]);
  expect(loaded.exitCode, loaded.stderr).toBe(0);
  expect(loaded.stdout).toContain(BASE);
  return store;
}

/** A file to write into a context: text, or text with a mode, or a symlink. */
export type ContextFile = string | Buffer | { content: string | Buffer; mode?: number } | { symlink: string };

/** Writes `files` (paths relative to a new dir; a trailing `/` makes an empty dir) and returns the dir. */
export async function writeContext(files: Record<string, ContextFile>): Promise<string> {
  const dir = await tempDir('ctx');
  for (const [rel, spec] of Object.entries(files)) {
    const full = path.join(dir, rel);
    if (rel.endsWith('/')) {
      await mkdir(full, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(full), { recursive: true });
    if (typeof spec === 'object' && 'symlink' in spec) await symlink(spec.symlink, full);
    else if (typeof spec === 'string' || Buffer.isBuffer(spec)) {
      await writeFile(full, spec);
      await chmod(full, 0o644);
    } else {
      await writeFile(full, spec.content);
      // Explicit chmod: writeFile's mode is filtered by the umask.
      await chmod(full, spec.mode ?? 0o644);
    }
  }
  return dir;
}

/** Runs `tzbuild build --root STORE --progress plain ARGS…`; `args` ends with the context dir. */
export function build(store: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runTzbuild(['build', '--root', store, '--progress', 'plain', ...args], options);
}

/** Builds and expects success (failing with the CLI's stderr otherwise); returns the result. */
export async function buildOk(store: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await build(store, args, options);
  if (result.exitCode !== 0) throw new Error(`build failed (exit ${result.exitCode}):\n${result.stderr}`);
  return result;
}

/** Writes a context holding `dockerfile` (plus `files`) and builds it as `tag`. */
export async function buildDockerfile(
  store: string,
  tag: string,
  dockerfile: string,
  files: Record<string, ContextFile> = {},
): Promise<string> {
  const context = await writeContext({ Dockerfile: dockerfile, ...files });
  await buildOk(store, ['-t', tag, context]);
  return context;
}

/** Runs a non-build CLI command (`['inspect', 'x:1']`) against `store`, expects success; returns stdout. */
export async function cli(store: string, args: string[]): Promise<string> {
  const result = await runTzbuild([...args, '--root', store]);
  if (result.exitCode !== 0)
    throw new Error(`tzbuild ${args.join(' ')} failed (exit ${result.exitCode}):\n${result.stderr}`);
  return result.stdout;
}

/** The fields of `tzbuild inspect` the tests read. */
export interface InspectView {
  Id: string;
  RepoTags: string[];
  Created: string;
  Author: string;
  Config: Record<string, unknown> & {
    Env?: string[];
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Labels?: Record<string, string>;
    OnBuild?: string[] | null;
  };
  Architecture: string;
  Os: string;
  Size: number;
  RootFS: { Type: string; Layers: string[] };
  History: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

export async function inspect(store: string, name: string): Promise<InspectView> {
  const views = JSON.parse(await cli(store, ['inspect', name])) as InspectView[];
  expect(views).toHaveLength(1);
  return views[0]!;
}

/** The rootfs a container of `tag` would see, via `umoci unpack` (a new dir per call). */
export async function unpack(store: string, tag: string): Promise<string> {
  const bundle = path.join(await tempDir('bundle'), 'b');
  await execa('umoci', ['unpack', '--image', `${store}:${tag}`, bundle]);
  return path.join(bundle, 'rootfs');
}

/** What is at a path of an unpacked rootfs, in a form tests compare exactly. */
export interface PathInfo {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** File content (utf8) or symlink target. */
  content?: string;
  /** Modification time, whole seconds. */
  mtime: number;
  ino: number;
  nlink: number;
}

export async function pathInfo(rootfs: string, imagePath: string): Promise<PathInfo | undefined> {
  const full = path.join(rootfs, imagePath);
  const stat = await lstat(full).catch(() => undefined);
  if (stat === undefined) return undefined;
  const type = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
  const content =
    type === 'file' ? await readFile(full, 'utf8') : type === 'symlink' ? await readlink(full) : undefined;
  return {
    type,
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    mtime: Math.floor(stat.mtimeMs / 1000),
    ino: stat.ino,
    nlink: stat.nlink,
    ...(content === undefined ? {} : { content }),
  };
}

/** Reads a file of an unpacked rootfs (utf8). */
export function readIn(rootfs: string, imagePath: string): Promise<string> {
  return readFile(path.join(rootfs, imagePath), 'utf8');
}

interface Manifest {
  layers: { digest: string; mediaType: string; size: number }[];
}

/** The manifest of `tag`, read straight from the store's OCI layout. */
export async function manifestOf(store: string, tag: string): Promise<Manifest> {
  const index = JSON.parse(await readFile(path.join(store, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((manifest) => manifest.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (entry === undefined) throw new Error(`${tag} is not in ${store}/index.json`);
  return JSON.parse(await readFile(blobPath(store, entry.digest), 'utf8')) as Manifest;
}

export function blobPath(store: string, digest: string): string {
  return path.join(store, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

/** The entry names of layer `index` of `tag` (`tar -tf` on its blob; -1 is the top layer). */
export async function layerNames(store: string, tag: string, index = -1): Promise<string[]> {
  const layer = (await manifestOf(store, tag)).layers.at(index);
  if (layer === undefined) throw new Error(`${tag} has no layer ${index}`);
  const { stdout } = await execa('tar', ['-tf', blobPath(store, layer.digest)]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((name) => name.replace(/^\.\//, '').replace(/\/$/, ''));
}
