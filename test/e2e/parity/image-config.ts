/**
 * The parts of an image config that parity compares: the container config fields a user sets,
 * the number of layers, and per history entry whether it is empty and what made it.
 */
import { isDeepStrictEqual } from 'node:util';

export const CONFIG_FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'Labels',
  'ExposedPorts',
  'Volumes',
  'Healthcheck',
  'StopSignal',
  'Shell',
  'OnBuild',
] as const;

/** An OCI / Docker image config as stored (only what is read here). */
export interface RawImageConfig {
  config?: Record<string, unknown>;
  rootfs?: { diff_ids?: string[] };
  history?: { created_by?: string; empty_layer?: boolean }[];
}

export interface ImageFacts {
  config: Record<string, unknown>;
  layers: number;
  /** One per history entry: `layer` or `empty`, and its created_by. */
  history: string[];
}

export function imageFacts(raw: RawImageConfig): ImageFacts {
  const config: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    // Absent and null mean the same to a runtime; both writers use either.
    const value = raw.config?.[field];
    if (value !== undefined && value !== null) config[field] = value;
  }
  return {
    config,
    layers: raw.rootfs?.diff_ids?.length ?? 0,
    history: (raw.history ?? []).map(
      (entry) => `${entry.empty_layer === true ? 'empty' : 'layer'} ${entry.created_by ?? ''}`,
    ),
  };
}

/** One line per difference: `config.Env: docker … tzbuild …`, `layers: …`, `history[i]: …`. */
export function compareFacts(docker: ImageFacts, tzbuild: ImageFacts, options: { createdBy: boolean }): string[] {
  const differences: string[] = [];
  for (const field of CONFIG_FIELDS) {
    const left = docker.config[field];
    const right = tzbuild.config[field];
    if (!isDeepStrictEqual(left, right))
      differences.push(`config.${field}: docker=${JSON.stringify(left)} tzbuild=${JSON.stringify(right)}`);
  }
  if (docker.layers !== tzbuild.layers) differences.push(`layers: docker=${docker.layers} tzbuild=${tzbuild.layers}`);
  // When docker built a rewritten Dockerfile, its created_by texts differ by construction.
  const shown = (entry: string | undefined) => (entry === undefined || options.createdBy ? entry : entry.split(' ')[0]);
  const count = Math.max(docker.history.length, tzbuild.history.length);
  for (let i = 0; i < count; i++) {
    const left = shown(docker.history[i]);
    const right = shown(tzbuild.history[i]);
    if (left !== right)
      differences.push(`history[${i}]: docker=${JSON.stringify(left)} tzbuild=${JSON.stringify(right)}`);
  }
  return differences;
}
