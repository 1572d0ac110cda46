// COPY [--from=<stage|image>] [--chown=<user>:<group>] [--chmod=<perms>] [--link] <src>... <dest>
// ADD [--chown=<user>:<group>] [--chmod=<perms>] [--checksum=<digest>] [--link] <src|url>... <dest>
/**
 * COPY and ADD: files from the context, a stage, an image, a heredoc or (ADD) a URL become one
 * layer. The cache key holds the content digest of the sources (never their mtimes or owners),
 * the destination after WORKDIR, --chown and --chmod.
 */
import { posix } from 'node:path';
import { DockerfileError, UserError } from '../../core/errors.js';
import type { LayerRef, MountedView } from '../../core/ports.js';
import type { AddInstruction, CopyInstruction } from '../instructions.js';
import type { StepContext } from '../session.js';
import { expansionEnv, platformOf, type StageState } from '../state.js';
import { expandOrThrow, type ExpandWhere } from '../expand.js';
import { cachedStep } from '../step-cache.js';
import { withStep } from '../history.js';
import { shownByInstruction, sourceInputs, type StepInputs } from '../step-inputs.js';
import { kindAt } from '../rootfs.js';
import { resolveOwner } from '../users.js';
import { BuildContext, IgnoreMatcher, type ContextSource } from '../context/index.js';
import { LayerEntrySet } from './layer-entries.js';
import { writeStepLayer } from './write-layer.js';
import { contentEntry, placeSources, type Placement, type SourceGroup } from './copy-entries.js';
import { resolveOrigin, sha256, type CopyOrigin } from './copy-sources.js';
import { downloadAll, type Download } from './add-url.js';
import { extractArchives } from './add-archive.js';

type FileInstruction = CopyInstruction | AddInstruction;

/** A COPY/ADD with every word expanded and every source identified. */
interface CopyPlan {
  instruction: FileInstruction;
  paths: string[];
  heredocs: { name: string; content: Buffer }[];
  urls: string[];
  /** The non-heredoc source words, expanded, in order (paths and URLs). */
  words: string[];
  destRaw: string;
  dest: string;
  destIsDir: boolean;
  chown?: string;
  chmod?: number;
  /** --exclude patterns, expanded. */
  excludes: string[];
  /** --chmod as written (after expansion), for the history text. */
  chmodText?: string;
  origin: CopyOrigin;
  contextSources: ContextSource[];
}

export async function copyStep(state: StageState, instruction: FileInstruction, ctx: StepContext): Promise<StageState> {
  const where: ExpandWhere = { file: ctx.plan.file, escapeToken: ctx.plan.escapeToken, range: instruction.range };
  const plan = await planCopy(state, instruction, ctx, where).catch((error: unknown) => rethrowAt(error, where));
  const checksum = instruction.kind === 'add' ? instruction.checksum : undefined;
  const downloads =
    plan.urls.length > 0
      ? await downloadAll(plan.urls, ctx, checksum).catch((error: unknown) => rethrowAt(error, where))
      : [];
  const summaries = new Map<string, string>();
  const digest =
    plan.origin.kind === 'context' && plan.paths.length > 0
      ? await ctx.context.digestSources(plan.contextSources, summaries, { keepBodies: true })
      : '';
  const identity = plan.origin.kind === 'context' ? digest : plan.origin.identity;
  const inputs: StepInputs = {
    kind: shownByInstruction(instruction.kind),
    paths: { key: plan.paths },
    sources: { key: identity, explain: sourceInputs(identity, summaries) },
    dest: { key: plan.dest, explain: { dest: plan.dest } },
    destIsDir: { key: plan.destIsDir },
    heredocs: { key: plan.heredocs.map((heredoc) => [heredoc.name, sha256(heredoc.content)]) },
    urls: { key: downloads.map((download) => [download.url, download.digest]) },
    chown: { key: plan.chown, explain: { chown: plan.chown ?? '' } },
    chmod: { key: plan.chmod, explain: { chmod: String(plan.chmod ?? '') } },
    platform: { key: platformOf(state) },
    // Only when given, so keys of plain COPY/ADD stay as they were.
    excludes: plan.excludes.length > 0 ? { key: plan.excludes } : undefined,
    parents: instruction.kind === 'copy' && instruction.parents === true ? { key: true } : undefined,
  };
  const origin = new OriginView(plan, ctx);
  try {
    const outcome = await cachedStep(ctx, state, {
      description: { instruction: instruction.original, inputs },
      // COPY --from a stage: also keyed by the files copied (as BuildKit), so a stage that re-ran
      // with the same output for these paths (or a builder stage not in a --cache-from) still hits.
      ...(plan.origin.kind === 'stage' && plan.paths.length > 0
        ? {
            byContent: async () => {
              const digest = await stageSourcesDigest(plan, ctx, origin).catch((error) => rethrowAt(error, where));
              return { sources: { key: `content ${digest}` } };
            },
          }
        : {}),
      execute: (earlier) =>
        materialize(state, plan, downloads, ctx, origin, earlier).catch((error: unknown) => rethrowAt(error, where)),
    });
    return withStep(state, historyText(plan), outcome);
  } finally {
    // Used or not, the kept bodies go (a parallel stage's COPY losing its own just reads them again).
    ctx.context.dropBodies();
    // The view's umount need not hold up the next step.
    ctx.tidy(origin.close());
  }
}

/** BuildKit's created_by: flags it shows (never --from or --link), expanded sources, heredocs as `<<NAME`. */
function historyText(plan: CopyPlan): string {
  const { instruction } = plan;
  const words = [
    instruction.kind.toUpperCase(),
    ...(instruction.kind === 'copy' && instruction.parents ? ['--parents'] : []),
    ...(plan.chown === undefined ? [] : [`--chown=${plan.chown}`]),
    ...(plan.chmodText === undefined ? [] : [`--chmod=${plan.chmodText}`]),
    ...plan.words,
    ...plan.heredocs.map((heredoc) => `<<${heredoc.name}`),
    plan.destRaw,
  ];
  return `${words.join(' ')} # buildkit`;
}

async function planCopy(
  state: StageState,
  instruction: FileInstruction,
  ctx: StepContext,
  where: ExpandWhere,
): Promise<CopyPlan> {
  const env = expansionEnv(state);
  const expand = (word: string) => expandOrThrow(word, env, where);
  const heredocNames = new Set(instruction.heredocs.map((heredoc) => heredoc.name));
  const words = instruction.sources.filter((source) => !isHeredocWord(source, heredocNames)).map(expand);
  const urls = words.filter((word) => /^https?:\/\//.test(word));
  const paths = words.filter((word) => !urls.includes(word));
  if (urls.length > 0 && instruction.kind === 'copy') throw new UserError("source can't be a URL for COPY", 'COPY_URL');
  const destRaw = expand(instruction.dest);
  const count = instruction.sources.length;
  const destIsDir = /\/\.?$/.test(destRaw) || destRaw === '.';
  if (count > 1 && !destIsDir) {
    throw new UserError(
      `When using ${instruction.kind.toUpperCase()} with more than one source file, the destination must be a ` +
        `directory and end with a /`,
      'COPY_DEST',
    );
  }
  const chmodText = instruction.chmod === undefined ? undefined : expand(instruction.chmod);
  const chmod = chmodText === undefined ? undefined : parseChmod(chmodText);
  const origin = await resolveOrigin(instruction.kind === 'copy' ? instruction.from : undefined, ctx);
  const othersMatch = urls.length + instruction.heredocs.length > 0;
  const contextSources =
    origin.kind === 'context' && paths.length > 0 ? await ctx.context.resolveSources(paths, { othersMatch }) : [];
  return {
    instruction,
    paths,
    urls,
    words,
    destRaw,
    destIsDir,
    origin,
    contextSources,
    excludes: instruction.excludes.map(expand),
    dest: posix.resolve(state.config.config.WorkingDir || '/', destRaw),
    heredocs: instruction.heredocs.map((heredoc) => ({ name: heredoc.name, content: heredocContent(heredoc, expand) })),
    ...(instruction.chown === undefined ? {} : { chown: expand(instruction.chown) }),
    ...(chmod === undefined ? {} : { chmod, chmodText }),
  };
}

function isHeredocWord(word: string, names: Set<string>): boolean {
  const match = /^\d*<<-?(["']?)(.+)\1$/.exec(word);
  return match !== null && names.has(match[2]!);
}

function heredocContent(heredoc: FileInstruction['heredocs'][number], expand: (word: string) => string): Buffer {
  const body = heredoc.chomp ? heredoc.content.replace(/^\t+/gm, '') : heredoc.content;
  return Buffer.from(heredoc.expand ? expand(body) : body);
}

function parseChmod(value: string): number {
  if (!/^[0-7]{1,4}$/.test(value)) {
    throw new UserError(
      `invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`,
      'CHMOD',
    );
  }
  return Number.parseInt(value, 8);
}

/** Builds the layer: every source placed into the image being copied into, read from its snapshots. */
async function materialize(
  state: StageState,
  plan: CopyPlan,
  downloads: Download[],
  ctx: StepContext,
  origin: OriginView,
  earlier: LayerRef | undefined,
): Promise<LayerRef | undefined> {
  const { deps } = ctx;
  const destView = await deps.snapshotter.view(state.layers);
  const ids = plan.chown === undefined ? { uid: 0, gid: 0 } : await resolveOwner(destView, plan.chown);
  const multiple = plan.paths.length + plan.heredocs.length + plan.urls.length > 1;
  const parents = plan.instruction.kind === 'copy' && plan.instruction.parents === true;
  const placement: Placement = {
    dest: await destView.resolve(plan.dest),
    destIsDir: plan.destIsDir || multiple || parents,
    uid: ids.uid,
    gid: ids.gid,
    destView,
    ...(plan.chmod === undefined ? {} : { chmod: plan.chmod }),
    ...(parents ? { parents } : {}),
    ...(plan.excludes.length > 0 ? { exclude: new IgnoreMatcher(plan.excludes) } : {}),
  };
  const set = new LayerEntrySet();
  await addGenerated(set, plan, downloads, placement);
  return withSourceTrees(plan, ctx, origin, async (groups) => {
    for (const group of groups) await placeSources(set, group, placement);
    const mtime = Math.floor(Date.now() / 1000);
    // Missing parents get the --chown owner too (BuildKit's MkdirAll chowns what it creates).
    const created = { mode: 0o755, uid: ids.uid, gid: ids.gid, mtime };
    for (const entry of set.sorted()) await set.addParents(destView, entry.path, created);
    if (set.size === 0) return undefined;
    return writeStepLayer(ctx, state.layers, set.sorted(), earlier);
  });
}

/** Heredoc files and downloaded URLs: content that does not come from a tree. */
async function addGenerated(
  set: LayerEntrySet,
  plan: CopyPlan,
  downloads: Download[],
  placement: Placement,
): Promise<void> {
  if (plan.heredocs.length + downloads.length === 0) return;
  const intoDir = placement.destIsDir || (await kindAt(placement.destView, placement.dest)) === 'directory';
  const into = (name: string) => (intoDir ? posix.join(placement.dest, name) : placement.dest);
  const now = Math.floor(Date.now() / 1000);
  for (const heredoc of plan.heredocs)
    set.set(contentEntry(into(heredoc.name), heredoc.content, placement, 0o644, now));
  for (const download of downloads) {
    set.set({
      ...contentEntry(into(download.fileName), Buffer.alloc(0), placement, 0o600, download.mtime),
      content: undefined,
      source: download.path,
      size: download.size,
    });
  }
}

/**
 * Content digest of the sources of a COPY --from=stage in that stage's filesystem (path, type, mode, link, xattrs,
 * content).
 */
async function stageSourcesDigest(plan: CopyPlan, ctx: StepContext, origin: OriginView): Promise<string> {
  return withSourceTrees(plan, ctx, origin, async (groups) => {
    const [group] = groups;
    return group === undefined ? '' : group.tree.digestSources(group.sources, new Map());
  });
}

/**
 * Opens the trees the sources come from (context, a view of a stage/image, extracted archives) for the duration of
 * `use`.
 */
async function withSourceTrees<T>(
  plan: CopyPlan,
  ctx: StepContext,
  origin: OriginView,
  use: (groups: SourceGroup[]) => Promise<T>,
): Promise<T> {
  if (plan.origin.kind === 'context') {
    if (plan.instruction.kind !== 'add') return use([{ tree: ctx.context, sources: plan.contextSources }]);
    const keepOwner = plan.chown === undefined;
    return extractArchives(plan.contextSources, ctx.deps.tmpDir, (plain, staged) =>
      use([{ tree: ctx.context, sources: plain }, ...staged.map((group) => ({ ...group, keepOwner }))]),
    );
  }
  if (plan.paths.length === 0) return use([]);
  return use([await origin.group()]);
}

/**
 * The filesystem of the stage or image a COPY --from reads, opened at most once per step: its
 * content key (after a miss) and the copy itself both read it, and opening it can take a mount
 * and an umount process.
 */
class OriginView {
  private opened: Promise<{ view: MountedView; group: SourceGroup }> | undefined;

  constructor(
    private readonly plan: CopyPlan,
    private readonly ctx: StepContext,
  ) {}

  async group(): Promise<SourceGroup> {
    return (await (this.opened ??= this.open())).group;
  }

  async close(): Promise<void> {
    const opened = await this.opened?.catch(() => undefined);
    await opened?.view.close();
  }

  private async open(): Promise<{ view: MountedView; group: SourceGroup }> {
    const { origin } = this.plan;
    if (origin.kind === 'context') throw new Error('unreachable: a context COPY has no origin view');
    const view = await this.ctx.deps.snapshotter.mount(origin.layers);
    try {
      const tree = await BuildContext.open(view.root, { ignorePatterns: [], linkScope: 'rootfs' });
      const label =
        origin.kind === 'stage'
          ? `stage ${this.ctx.plan.stages[origin.index]!.name ?? origin.index}`
          : `image ${origin.reference}`;
      const othersMatch = this.plan.heredocs.length + this.plan.urls.length > 0;
      const sources = await tree.resolveSources(this.plan.paths, { othersMatch }).catch((error: unknown) => {
        if (error instanceof UserError)
          throw new UserError(
            `${error.message.replace(/ in build context or excluded by \.dockerignore/, '')} (in ${label})`,
            error.code,
          );
        throw error;
      });
      return { view, group: { tree, sources } };
    } catch (error) {
      await view.close();
      throw error;
    }
  }
}

/** Context and expansion errors get the instruction's line. */
function rethrowAt(error: unknown, where: ExpandWhere): never {
  if (error instanceof DockerfileError) throw error;
  if (error instanceof UserError)
    throw new DockerfileError(error.message, where.file, where.range.startLine, where.range.endLine, error.code);
  throw error;
}
