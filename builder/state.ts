/**
 * The state a stage carries from step to step: the image config so far, its layers, and the ARGs
 * in scope. Steps return a new state; they never mutate the one they are given.
 */
import type { ImageConfig } from '../image/oci.js';
import type { LayerRef } from '../ports.js';
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
}

/** The config of `FROM scratch`. */
export function scratchConfig(platform: PlatformSpec): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
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
 * "an ENV instruction always overrides an ARG instruction of the same name").
 */
export function expansionEnv(state: StageState): Map<string, string> {
  const env = new Map<string, string>();
  for (const [key, value] of state.args) if (value !== undefined) env.set(key, value);
  for (const [key, value] of envMap(state.config)) env.set(key, value);
  return env;
}

export function platformOf(state: StageState): string {
  const { os, architecture, variant } = state.config;
  return formatPlatform({ os, architecture, ...(variant ? { variant } : {}) });
}
