/**
 * Gathering what the checks read besides the Dockerfile: the context's ignore file and top-level
 * names, the base images' configs and the cache history from the store. The store is asked only
 * through {@link CheckSources} (read-only, no lock, no network: a check must be cheap enough to run
 * on every save); what it cannot answer is simply absent.
 */
import { readdirSync } from 'node:fs';
import { historyIdentity } from '../builder/build-history.js';
import { loadIgnoreMatcherSync } from '../builder/context/index.js';
import type { PlatformSpec } from '../builder/platform.js';
import type { ImageConfig } from '../core/oci.js';
import type { BuildHistoryEntry } from '../core/ports.js';
import { readSubject, type CheckInputs } from './subject.js';

/** What the store can tell a check. Both optional: without a store, the checks run on the file alone. */
export interface CheckSources {
  /** The config of an image the store holds under `reference` (never pulled); undefined when absent. */
  imageConfig?(reference: string, platform?: PlatformSpec): Promise<ImageConfig | undefined>;
  /** The store's history of the Dockerfile with this identity (builder/build-history.ts), oldest first. */
  history?(identity: string): Promise<BuildHistoryEntry[]>;
}

/** The build a check is about. */
export interface CheckRequest {
  dockerfile: { text: string; name: string };
  contextDir: string;
  buildArgs?: ReadonlyMap<string, string>;
  target?: string;
  /** The target platform (the first of a multi-platform build's). */
  platform?: PlatformSpec;
  /** List the context's top-level names (the static cache advice reads them). */
  listContext?: boolean;
}

/** The inputs of {@link checkDockerfile} for `request`, with what `sources` know. */
export async function gatherInputs(request: CheckRequest, sources: CheckSources = {}): Promise<CheckInputs> {
  const inputs: CheckInputs = {
    dockerfile: request.dockerfile,
    ...(request.buildArgs === undefined ? {} : { buildArgs: request.buildArgs }),
    ...(request.target === undefined ? {} : { target: request.target }),
    ...(request.platform === undefined ? {} : { platform: request.platform }),
  };
  // The ignore file and the context's names are a few small reads: made directly, they cost less
  // than thread-pool round trips (what a build pays for its checks before it starts).
  const ignore = loadIgnoreMatcherSync(request.contextDir, request.dockerfile.name);
  const contextNames = request.listContext ? topLevelNames(request.contextDir) : undefined;
  const [baseImages, history] = await Promise.all([
    baseImageConfigs(inputs, sources),
    sources.history?.(historyIdentity(request.contextDir, request.dockerfile.name)) ?? [],
  ]);
  return {
    ...inputs,
    ignore,
    ...(contextNames === undefined ? {} : { contextNames }),
    baseImages,
    history,
  };
}

/** Names in the context directory, directories with a trailing `/`; none when it cannot be read. */
function topLevelNames(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .map((entry) => (entry.isDirectory() ? `${entry.name}/` : entry.name))
      .sort();
  } catch {
    return [];
  }
}

/** Configs of the images the stages start from, as far as the store holds them. */
async function baseImageConfigs(inputs: CheckInputs, sources: CheckSources): Promise<Map<string, ImageConfig>> {
  const configs = new Map<string, ImageConfig>();
  const lookup = sources.imageConfig;
  if (lookup === undefined) return configs;
  let references: string[];
  try {
    references = readSubject(inputs).stages.flatMap((stage) =>
      stage.base.kind === 'image' ? [stage.base.reference] : [],
    );
  } catch {
    // A Dockerfile that does not parse has no bases to look up; the check reports why.
    return configs;
  }
  await Promise.all(
    [...new Set(references)].map(async (reference) => {
      const config = await lookup(reference, inputs.platform).catch(() => undefined);
      if (config !== undefined) configs.set(reference, config);
    }),
  );
  return configs;
}
