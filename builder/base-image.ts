/**
 * Images a stage starts from or copies from (FROM, COPY --from, RUN --mount from=), through the
 * ImageSource with the build's pull policy: a pull's bytes per layer show under the step
 * (`step.progress`), a mirror that failed as a line of its output, and what the reference
 * resolved to once it was pulled.
 */
import { DockerfileError, UserError } from '../core/errors.js';
import type { ResolvedImage } from '../core/ports.js';
import type { SourceRange } from './instructions.js';
import type { StepContext } from './session.js';
import { configPlatform, formatPlatform, normalizePlatform, platformServes } from '../core/platform.js';

/** At most this often a layer's download reports its bytes (its start and end always do). */
const PROGRESS_INTERVAL_MS = 100;

/** `reference` as an image in the store, pulled when the policy allows and the store lacks it. */
export async function resolveImageFor(ctx: StepContext, reference: string): Promise<ResolvedImage> {
  const platform = ctx.stage.platform;
  let pulled = false;
  // A download reports every chunk; the sinks need a few updates a second per layer.
  const lastReported = new Map<string, number>();
  const image = await ctx.deps.images.resolve(reference, {
    pull: ctx.options.pull ?? 'missing',
    platform: {
      os: platform.os,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
    },
    onProgress: (progress) => {
      pulled = true;
      const { digest: layer, phase, bytes, total } = progress;
      const now = Date.now();
      if (phase === 'downloading' && now - (lastReported.get(layer) ?? 0) < PROGRESS_INTERVAL_MS) return;
      lastReported.set(layer, now);
      ctx.emit({ type: 'step.progress', stepId: ctx.stepId, layer, phase, bytes, total });
    },
    onNotice: (line) => ctx.emit({ type: 'step.output', stepId: ctx.stepId, stream: 'stderr', line }),
  });
  if (pulled && image.registryDigest !== undefined) {
    ctx.emit({
      type: 'step.output',
      stepId: ctx.stepId,
      stream: 'stdout',
      line: `resolved to ${image.registryDigest}`,
    });
  }
  return image;
}

/** A FROM's base: as {@link resolveImageFor}, a failure naming the FROM line and the reference. */
export async function resolveBaseImage(
  ctx: StepContext,
  reference: string,
  range: SourceRange,
): Promise<ResolvedImage> {
  let image: ResolvedImage;
  try {
    image = await resolveImageFor(ctx, reference);
  } catch (error) {
    if (error instanceof DockerfileError || !(error instanceof UserError)) throw error;
    const named = error.message.startsWith(`${reference}:`) || error.message.includes(`"${reference}"`);
    const message = named ? error.message : `${reference}: ${error.message}`;
    const located = new DockerfileError(message, ctx.plan.file, range.startLine, range.endLine, error.code);
    located.cause = error;
    throw located;
  }
  checkBasePlatform(ctx, reference, image, range);
  return image;
}

/**
 * A single-platform base for another platform than the stage's is refused, naming the FROM line
 * (BuildKit's InvalidBaseImagePlatform): its RUN steps would execute the wrong binaries.
 * `FROM --platform=<its platform>` says that platform is wanted.
 */
function checkBasePlatform(ctx: StepContext, reference: string, image: ResolvedImage, range: SourceRange): void {
  const actual = configPlatform(image.config);
  const wanted = ctx.stage.platform;
  if (actual === undefined || platformServes(actual, wanted)) return;
  const shown = formatPlatform(normalizePlatform(actual));
  const hint = ctx.stage.explicitPlatform ? '' : ` (use FROM --platform=${shown} if that is what you want)`;
  throw new DockerfileError(
    `base image ${reference} is for ${shown}, not ${formatPlatform(wanted)}${hint}`,
    ctx.plan.file,
    range.startLine,
    range.endLine,
    'BASE_PLATFORM',
  );
}
