/**
 * Builds one corpus case on each side and reads back what parity compares: the image config
 * (raw, byte for byte as stored) and the filesystem a container sees.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { runTzbuild } from '../../helpers/cli.js';
import { buildOptions, type ParityCase } from './corpus.js';
import type { PrivateDockerd } from '../../helpers/dockerd.js';
import { readFilesystemTar, type FsEntry } from './filesystem.js';
import { imageFacts, type ImageFacts, type RawImageConfig } from './image-config.js';

export interface SideResult {
  facts: ImageFacts;
  filesystem: Map<string, FsEntry>;
}

export interface DockerSideResult extends SideResult {
  /** The error docker 20.10 gave for the case's own Dockerfile, when it has a Dockerfile.docker. */
  refusal?: string;
}

/** The last line of a failed build's output: BuildKit's one-line reason. */
function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/** `docker create` + `docker export` of `image` (a name or ID): the filesystem a container of it sees. */
async function containerFilesystem(
  dockerd: PrivateDockerd,
  image: string,
  file: string,
): Promise<Map<string, FsEntry>> {
  // A command is given so images without Cmd/Entrypoint can be created too; it never runs.
  const created = await dockerd.docker(['create', image, 'parity-not-run']);
  if (created.exitCode !== 0) throw new Error(`docker create ${image}: ${created.stderr}`);
  const container = created.stdout.trim();
  const exported = await dockerd.docker(['export', '-o', file, container]);
  await dockerd.docker(['rm', container]);
  if (exported.exitCode !== 0) throw new Error(`docker export ${image}: ${exported.stderr}`);
  const filesystem = await readFilesystemTar(file);
  await rm(file);
  return filesystem;
}

export async function buildWithDocker(
  dockerd: PrivateDockerd,
  testCase: ParityCase,
  scratch: string,
  server: string,
): Promise<DockerSideResult> {
  const { docker } = dockerd;
  const build = (dockerfile: string) =>
    docker([
      'build',
      `--network=${testCase.network ?? 'none'}`,
      '-t',
      testCase.tag,
      '-f',
      path.join(testCase.dir, dockerfile),
      ...buildOptions(testCase, server),
      testCase.dir,
    ]);
  let refusal: string | undefined;
  if (testCase.dockerFile !== undefined) {
    const own = await build('Dockerfile');
    if (own.exitCode === 0)
      throw new Error(`docker built ${testCase.name}/Dockerfile itself: Dockerfile.docker is no longer needed`);
    refusal = lastLine(own.stderr);
  }
  const built = await build(testCase.dockerFile ?? 'Dockerfile');
  if (built.exitCode !== 0)
    throw new Error(`docker build of ${testCase.name} failed:\n${built.stderr.split('\n').slice(-15).join('\n')}`);
  const id = (await docker(['image', 'inspect', '--format', '{{.Id}}', testCase.tag])).stdout.trim();
  const config = JSON.parse(
    await readFile(
      path.join(dockerd.dataRoot, 'image/overlay2/imagedb/content/sha256', id.replace(/^sha256:/, '')),
      'utf8',
    ),
  ) as RawImageConfig;
  const filesystem = await containerFilesystem(
    dockerd,
    testCase.tag,
    path.join(scratch, `${testCase.name}.docker.tar`),
  );
  return { facts: imageFacts(config), filesystem, ...(refusal === undefined ? {} : { refusal }) };
}

/**
 * tzbuild builds the case (tagged like docker's, so later cases can build FROM it), then its image
 * goes through `tzbuild save` → `docker load` → `docker export`: the filesystem is what a docker
 * container of tzbuild's image sees, read by the same code as docker's own.
 */
export async function buildWithTzbuild(
  store: string,
  dockerd: PrivateDockerd,
  testCase: ParityCase,
  scratch: string,
  server: string,
): Promise<SideResult> {
  // A second name for the save, so `docker load` never takes docker's own tag.
  const savedAs = `tzbuild-${testCase.tag}`;
  const built = await runTzbuild([
    'build',
    '--root',
    store,
    '--progress',
    'plain',
    '-t',
    testCase.tag,
    '-t',
    savedAs,
    ...buildOptions(testCase, server),
    testCase.dir,
  ]);
  if (built.exitCode !== 0)
    throw new Error(`tzbuild build of ${testCase.name} failed:\n${built.stderr.split('\n').slice(-15).join('\n')}`);
  const inspected = await runTzbuild(['inspect', '--root', store, testCase.tag]);
  if (inspected.exitCode !== 0) throw new Error(`tzbuild inspect ${testCase.tag}: ${inspected.stderr}`);
  const [view] = JSON.parse(inspected.stdout) as { Id: string }[];
  const config = JSON.parse(
    await readFile(path.join(store, 'blobs/sha256', (view?.Id ?? '').replace(/^sha256:/, '')), 'utf8'),
  ) as RawImageConfig;
  const archive = path.join(scratch, `${testCase.name}.tzbuild-save.tar`);
  const saved = await runTzbuild(['save', '--root', store, savedAs, '-o', archive]);
  if (saved.exitCode !== 0) throw new Error(`tzbuild save ${savedAs}: ${saved.stderr}`);
  const loaded = await dockerd.docker(['load', '-i', archive]);
  await rm(archive);
  if (loaded.exitCode !== 0) throw new Error(`docker load of tzbuild's ${savedAs}: ${loaded.stderr}`);
  const filesystem = await containerFilesystem(dockerd, savedAs, path.join(scratch, `${testCase.name}.tzbuild.tar`));
  return { facts: imageFacts(config), filesystem };
}
