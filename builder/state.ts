/**
 * The state a stage carries from step to step: the image config so far, its layers, and the ARGs
 * in scope. Steps return a new state; they never mutate the one they are given.
 */
import type { ImageConfig } from '../core/oci.js';
import type { LayerRef } from '../core/ports.js';
import { formatPlatform, type PlatformSpec } from './platform.js';

export interface StageState {
  config: ImageConfig;
  layers: LayerRef[];
  /** ARGs declared in this stage, with their values (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it; otherwise it clears the inherited one). */
  cmdSet: boolean;
  /** What the stage started from (`scratch`, an image's manifest digest, a stage's chain), for miss explanations. */
  baseId: string;
  /**
   * ARGs declared after an ENV of the same name: BuildKit's build env takes them (steps see the
   * ARG value) while the image's Env keeps the ENV value. A later ENV of that name clears it.
   */
  argOverrides?: ReadonlyMap<string, string>;
}

/** BuildKit's PATH for an image that sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The config of `FROM scratch`: BuildKit's empty image has PATH and WorkingDir `/` set. */
export function scratchConfig(platform: PlatformSpec): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

/** Env as a map (first `=` splits; later duplicates win, as in Docker). */
export function envMap(config: ImageConfig): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of config.config.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.set(entry, '');
    else env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** Sets or replaces `key` in an Env list, keeping its position. */
export function setEnv(env: string[] | undefined, key: string, value: string): string[] {
  const next = [...(env ?? [])];
  const index = next.findIndex((entry) => entry === key || entry.startsWith(`${key}=`));
  if (index >= 0) next[index] = `${key}=${value}`;
  else next.push(`${key}=${value}`);
  return next;
}

/**
 * The variables an instruction's words expand with: ARGs in scope, then ENV on top (Docker:
 * "an ENV instruction always overrides an ARG instruction of the same name"), then the ARGs
 * declared after such an ENV (BuildKit applies declarations in order).
 */
export function expansionEnv(state: StageState): Map<string, string> {
  const env = new Map<string, string>();
  for (const [key, value] of state.args) if (value !== undefined) env.set(key, value);
  for (const [key, value] of envMap(state.config)) env.set(key, value);
  for (const [key, value] of state.argOverrides ?? []) env.set(key, value);
  return env;
}

export function platformOf(state: StageState): string {
  const { os, architecture, variant } = state.config;
  return formatPlatform({ os, architecture, ...(variant ? { variant } : {}) });
}
