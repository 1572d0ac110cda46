/**
 * The options of the container commands (`run`, `start`, `ps`, `rm`, `container prune`, `diff`,
 * `commit`, `logs`, `mount`, `umount`, `export`); their work is in containers.ts, imported only when one
 * of them runs.
 */
import { type Command, Option } from 'commander';
import { lazyAction } from './lazy-action.js';
import { collect, rootOption, runnerOption } from './options.js';

const containersModule = () => import('./containers.js');

/** Adds the container commands to the program. */
export function registerContainerCommands(program: Command): void {
  program
    .command('run')
    .description('run a command in a new container: the image plus a writable layer of its own')
    .argument('<image>')
    .argument('[command...]', 'replaces the image CMD')
    // Everything after IMAGE belongs to the command (`run IMAGE ls -l`).
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'give the process a pseudo-terminal')
    .option('--rm', 'remove the container when it exits')
    .option('--name <name>', 'name the container')
    .option('-e, --env <k=v>', 'set an environment variable (repeatable; K alone passes our value)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user to run as')
    .option('-v, --volume <host:ctr[:ro]>', 'bind a host directory (repeatable)', collect, [])
    .addOption(new Option('--network <mode>', 'network: host (default) or none').choices(['host', 'none']))
    .option('--entrypoint <cmd>', "replace the image's ENTRYPOINT (and drop its CMD)")
    .addOption(runnerOption('the container'))
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'runCommand'));
  program
    .command('start')
    .description("run a stopped container's command again, on its own layer")
    .argument('<container>')
    .option('-a, --attach', 'attach output (always: tzbuild runs containers in the foreground)')
    .option('-i, --interactive', 'attach stdin')
    .addOption(runnerOption('the container'))
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'startCommand'));
  program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show stopped containers too')
    .option('-q, --quiet', 'show only IDs')
    .option('--no-trunc', 'do not truncate output')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'psCommand'));
  program
    .command('rm')
    .description('remove containers and their writable layers')
    .argument('<container...>')
    .option('-f, --force', 'also a running or mounted one (it is stopped or unmounted first)')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'rmCommand'));
  const container =
    program.commands.find((command) => command.name() === 'container') ??
    program.command('container').description('manage containers');
  container
    .command('prune')
    .description('remove all stopped containers')
    .option('-f, --force', 'do not ask (tzbuild never asks)')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'pruneContainersCommand'));
  program
    .command('diff')
    .description("list what a container changed in its image's filesystem: A added, C changed, D deleted")
    .argument('<container>')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'diffCommand'));
  program
    .command('commit')
    .description("make a new image from a container's changes")
    .argument('<container>')
    .argument('[image]', 'name and tag the new image')
    .option('-m, --message <text>', 'commit message (the history comment)')
    .option('-a, --author <name>', 'author (e.g. "Jane <jane@example.com>")')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the config (repeatable)', collect, [])
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'commitCommand'));
  program
    .command('logs')
    .description("print the output of a container's last run (without a terminal)")
    .argument('<container>')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'logsCommand'));
  program
    .command('mount')
    .description("mount a container's filesystem on the host and print where")
    .argument('<container>')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'mountCommand'));
  program
    .command('umount')
    .description("unmount a container's filesystem")
    .argument('<container>')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'umountCommand'));
  program
    .command('export')
    .description("write a container's filesystem as a tar")
    .argument('<container>')
    .requiredOption('-o, --output <file>', 'the tar to write')
    .addOption(rootOption())
    .action(lazyAction(containersModule, 'exportCommand'));
}
