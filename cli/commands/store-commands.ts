/**
 * The options of `system fsck`, `prune` and `builder prune`; their work is in store.ts, imported
 * only when one of them runs.
 */
import type { Command } from 'commander';
import { lazyAction } from './lazy-action.js';
import { rootOption } from './options.js';
const storeModule = () => import('./store.js');

/** Adds `system fsck`, `prune` and `builder prune` to the program. */
export function registerStoreCommands(program: Command): void {
  const system =
    program.commands.find((command) => command.name() === 'system') ??
    program.command('system').description('manage the store');
  system
    .command('fsck')
    .description('verify blobs, tags, snapshots and cache records')
    .option('--repair', 'remove what is corrupt or dangling')
    .addOption(rootOption())
    .action(lazyAction(storeModule, 'fsckCommand'));
  program
    .command('prune')
    .description('remove blobs, snapshots and cache records nothing references')
    .addOption(rootOption())
    .action(lazyAction(storeModule, 'pruneCommand'));
  const builder =
    program.commands.find((command) => command.name() === 'builder') ??
    program.command('builder').description('manage the build cache');
  builder
    .command('prune')
    .description('remove build cache, least recently used first')
    .option('--keep-storage <size>', 'keep this much cache (e.g. 10GB, 512MB)')
    .option(
      '--filter <filter>',
      'until=DURATION: only cache unused for this long (e.g. 24h)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('-a, --all', 'also remove records whose layers tagged images use (they free nothing but metadata)')
    .addOption(rootOption())
    .action(lazyAction(storeModule, 'builderPruneCommand'));
}
