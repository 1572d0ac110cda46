/**
 * Command actions that load their module on first use: `tzbuild build` should not pay for the
 * imports of `save`, `push` or `fsck` (module loading is most of a cached build's time).
 */

/** An action that imports `load()` when the command runs and calls its export `name`. */
export function lazyAction<M, K extends keyof M>(
  load: () => Promise<M>,
  name: K,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const action = (await load())[name] as (...actionArgs: unknown[]) => Promise<void> | void;
    await action(...args);
  };
}
