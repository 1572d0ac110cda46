/**
 * The `--runner` choices, apart from the runners themselves: the CLI checks the flag without
 * loading any runner code (a fully cached build never needs it).
 */

/** What `--runner` accepts. */
export const RUNNER_KINDS = ['auto', 'runc', 'crun', 'namespaces'] as const;

/** A runner choice: a runtime by name, the namespace runner, or `auto`. */
export type RunnerKind = (typeof RUNNER_KINDS)[number];

/** Narrows a user-supplied string (e.g. the `--runner` flag) to a RunnerKind. */
export function isRunnerKind(value: string): value is RunnerKind {
  return (RUNNER_KINDS as readonly string[]).includes(value);
}
