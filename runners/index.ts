/**
 * Choosing the runner for RUN steps: `auto` takes an installed OCI runtime (crun, then runc: both
 * run the same spec, and crun starts a container in a third of runc's time, docs/runners.md) and
 * falls back to the namespace runner, which needs nothing but util-linux and perl-base. Rootless
 * (inside tzbuild's user namespace) `auto` takes the namespace runner.
 */
import { UserError } from '../core/errors.js';
import type { Runner } from '../core/ports.js';
import { NamespaceRunner, type NetworkMode } from './namespaces.js';
import { OciRuntimeRunner } from './oci/oci-runtime.js';
import { findRuntime, type OciRuntimeKind } from './oci/runtime-binary.js';
import { inUserNamespace } from '../sys/userns.js';

export { NamespaceRunner, type NetworkMode } from './namespaces.js';
export { OciRuntimeRunner, type OciRuntimeRunnerOptions } from './oci/oci-runtime.js';
export type { OciRuntimeKind } from './oci/runtime-binary.js';

import { RUNNER_KINDS, type RunnerKind } from './kinds.js';

export { RUNNER_KINDS, isRunnerKind, type RunnerKind } from './kinds.js';

/** Options shared by every runner. */
export interface CreateRunnerOptions {
  /** Parent of the per-step scratch dirs (the store's `tmp/`, on the upperdirs' filesystem). */
  tmpRoot?: string;
  /** Network when a RunSpec names none (default `host`). */
  network?: NetworkMode;
  /** Finds a runtime binary; tests and unusual installs can override it (default: sbin/bin dirs). */
  findRuntime?: (kind: OciRuntimeKind) => string | undefined;
}

/** Runtimes `auto` tries, in order of preference. */
const AUTO_ORDER: readonly OciRuntimeKind[] = ['crun', 'runc'];

/**
 * The runner for `kind`. Throws a UserError (`RUNNER_UNAVAILABLE`) when a runtime asked for by
 * name is not installed; `auto` never throws.
 */
export function createRunner(kind: RunnerKind, options: CreateRunnerOptions = {}): Runner {
  const find = options.findRuntime ?? findRuntime;
  const common = { tmpRoot: options.tmpRoot, network: options.network };
  if (kind === 'namespaces') return new NamespaceRunner(common);
  if (kind === 'auto') {
    // Rootless (in a user namespace): the namespace runner needs nothing the host withholds.
    if (inUserNamespace()) return new NamespaceRunner(common);
    for (const runtime of AUTO_ORDER) {
      const binary = find(runtime);
      if (binary) return new OciRuntimeRunner({ ...common, runtime, binary });
    }
    return new NamespaceRunner(common);
  }
  if (!isRuntimeKind(kind)) throw new UserError(`unknown runner "${String(kind)}" (use ${RUNNER_KINDS.join(', ')})`, 'RUNNER_UNKNOWN');
  const binary = find(kind);
  if (!binary) {
    throw new UserError(`--runner ${kind}: ${kind} is not installed (apt-get install ${kind}, or use --runner auto)`, 'RUNNER_UNAVAILABLE');
  }
  return new OciRuntimeRunner({ ...common, runtime: kind, binary });
}

function isRuntimeKind(value: string): value is OciRuntimeKind {
  return (AUTO_ORDER as readonly string[]).includes(value);
}
