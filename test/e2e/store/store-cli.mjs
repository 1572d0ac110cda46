// Runs the store commands (`system fsck`, `prune`, `builder prune`) from the compiled CLI module,
// for tests that run before cli/main.ts registers them. Same exit codes as bin/tzbuild.
import { Command, CommanderError } from 'commander';
import { UserError } from '../../../dist/core/errors.js';
import { registerStoreCommands } from '../../../dist/cli/commands/store.js';

const program = new Command('tzbuild').exitOverride();
registerStoreCommands(program);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : 2;
  else if (error instanceof UserError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`tzbuild: internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  }
}
