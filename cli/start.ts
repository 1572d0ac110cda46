/**
 * What `bin/tzbuild` runs. A non-root user is first moved into a user namespace (cli/rootless.ts):
 * this process then only waits for the re-executed one, so the CLI itself is loaded only where it runs.
 */
import { runRootlessIfNeeded } from './rootless.js';

/** Runs the CLI with `args`; `entry` is the executable's path (what the rootless re-exec starts). */
export async function start(args: string[], entry: string): Promise<number> {
  const rootlessExit = await runRootlessIfNeeded(args, entry);
  if (rootlessExit !== undefined) return rootlessExit;
  const { main } = await import('./main.js');
  return main(args);
}
