/**
 * The command line: argument parsing and exit codes (0 ok, 1 failed, 2 usage). Each command's
 * work lives in commands/; the ports it needs come from compose.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../core/errors.js';
import { ExitStatus } from './exit-status.js';
import { lazyAction } from './commands/lazy-action.js';
import { collect, insecureOption, rootOption, runnerOption } from './commands/options.js';
import { registerRegistryCommands } from './commands/registry-commands.js';
import { registerStoreCommands } from './commands/store-commands.js';
import { registerContainerCommands } from './commands/container-commands.js';

// Each command's module is imported only when that command runs (see lazy-action.ts).
const buildModule = () => import('./commands/build.js');
const imagesModule = () => import('./commands/images.js');

export function makeProgram(): Command {
  const program = new Command('tzbuild')
    .description('A daemonless Dockerfile build engine')
    // So that `run IMAGE CMD -x` hands `-x` to the command (passThroughOptions needs it).
    .enablePositionalOptions()
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError()
    // `tzbuild --root DIR images`: --root before the command name belongs to the program; hand it on.
    .addOption(rootOption())
    .hook('preAction', (program, command) => {
      const root = program.opts<{ root?: string }>().root;
      if (root !== undefined && command.opts<{ root?: string }>().root === undefined)
        command.setOptionValue('root', root);
    });

  program
    .command('build', { isDefault: true })
    .description('build an image from a Dockerfile and a context directory')
    .argument('[context]', 'build context directory', '.')
    .option('-t, --tag <name>', 'name and tag the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'Dockerfile path, or - for standard input (default: CONTEXT/Dockerfile)')
    .option('--build-arg <k=v>', 'set a build-time variable (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage and what it needs')
    .option(
      '--platform <os/arch[,…]>',
      "target platforms (linux/arm64, linux/arm/v7); a comma list builds an image index (default: this machine's)",
    )
    .option('--no-cache', 'do not use the cache')
    .option('--no-cache-filter <stage>', 'do not use the cache for these stages (repeatable)', collect, [])
    .addOption(
      new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'json', 'tty']).default('auto'),
    )
    .option('-q, --quiet', 'print only the image ID')
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('--metadata-file <file>', "write the image ID, tags and each step's cache result to this file as JSON")
    .option(
      '-o, --output <spec>',
      'also export the result: type=docker|oci|tar,dest=FILE or type=local,dest=DIR (a bare path: local)',
    )
    .option('--dry-run', 'show which steps would be cached and which would run (and why); run nothing')
    .option('--label <k=v>', 'set a label on the image (repeatable)', collect, [])
    .option('--secret <id=x,src=file|env=var>', 'a secret for RUN --mount=type=secret (repeatable)', collect, [])
    .addOption(runnerOption('RUN steps'))
    .option(
      '--cache-from <spec>',
      'use a shared cache: type=registry,ref=NAME | type=local,src=DIR | NAME (repeatable)',
      collect,
      [],
    )
    .option(
      '--cache-to <spec>',
      'export the build cache: type=registry,ref=NAME[,mode=min|max] | type=local,dest=DIR[,mode=…] (repeatable)',
      collect,
      [],
    )
    .option('--push', 'push the tagged image (-t) to its registry after the build')
    .option('--pull [policy]', 'pull base images: always (the bare flag), missing (default) or never')
    .addOption(insecureOption())
    .option('--check', 'run the build checks and cache advice instead of building (docker build --check)')
    .option('--check-skip <rules>', 'build checks not to run (comma-separated, repeatable)', collect, [])
    .addOption(rootOption())
    .action(lazyAction(buildModule, 'buildCommand'));

  program
    .command('check')
    .description("check a Dockerfile with BuildKit's build checks and advice from the cache history; build nothing")
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <path>', 'Dockerfile path, or - for standard input (default: CONTEXT/Dockerfile)')
    .option('--build-arg <k=v>', 'a build-time variable the build would get (repeatable)', collect, [])
    .option('--target <stage>', 'the stage the build would build')
    .option('--check-skip <rules>', 'checks not to run (comma-separated, repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--fix', 'rewrite the Dockerfile where a check has a mechanical fix')
    .option('--diff', 'print the fixes as a unified diff instead of writing them')
    .addOption(rootOption())
    .action(lazyAction(() => import('./commands/check.js'), 'checkCommand'));

  program
    .command('parse')
    .description('parse a Dockerfile and print its instructions')
    .option('-f, --file <path>', 'Dockerfile path, or - for standard input', 'Dockerfile')
    .option('--json', 'print JSON (for editors and CI linting)')
    .action(lazyAction(() => import('./commands/parse.js'), 'parseCommand'));

  program
    .command('images')
    .description('list images')
    .option('--platform <os/arch[/variant]>', "only this platform's images (of multi-platform ones too)")
    .addOption(rootOption())
    .action(lazyAction(imagesModule, 'imagesCommand'));
  program
    .command('inspect')
    .description('show details of images or containers as JSON')
    .argument('<name...>', 'images or containers (a container by that name or ID first)')
    .option('--platform <os/arch[/variant]>', "a multi-platform image's image for this platform")
    .addOption(rootOption())
    .action(lazyAction(imagesModule, 'inspectCommand'));
  program
    .command('history')
    .description('show the history of an image')
    .argument('<image>')
    .addOption(rootOption())
    .option('--platform <os/arch[/variant]>', "a multi-platform image's history for this platform")
    .option('--no-trunc', 'do not truncate output')
    .action(lazyAction(imagesModule, 'historyCommand'));
  program
    .command('tag')
    .description('create a tag that refers to an image')
    .argument('<source>')
    .argument('<target>')
    .addOption(rootOption())
    .action(lazyAction(imagesModule, 'tagCommand'));
  program
    .command('rmi')
    .description('remove image tags')
    .argument('<image...>')
    .addOption(rootOption())
    .action(lazyAction(imagesModule, 'rmiCommand'));
  program
    .command('load')
    .description('load an image from a docker-archive or OCI archive tar')
    .argument('[file]')
    .option('-i, --input <file>', 'read from this file')
    .option('--platform <os/arch[/variant]>', "of a multi-platform image, only this platform's image")
    .addOption(rootOption())
    .action(lazyAction(() => import('./commands/load.js'), 'loadCommand'));
  program
    .command('save')
    .description('write images to a tar that docker load and OCI tools read')
    .argument('<image...>')
    .option('-o, --output <file>', 'the archive to write')
    .option('--platform <os/arch[/variant]>', "of a multi-platform image, only this platform's image")
    .addOption(rootOption())
    .action(lazyAction(() => import('./commands/save.js'), 'saveCommand'));
  const system = program.command('system').description('manage the store');
  system
    .command('df')
    .description('show store disk usage')
    .addOption(rootOption())
    .action(lazyAction(imagesModule, 'systemDfCommand'));
  registerRegistryCommands(program);
  registerStoreCommands(program);
  registerContainerCommands(program);
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // A reader that went away (`tzbuild images | head`) is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const program = makeProgram();
  try {
    // `--pull` alone means always, as in docker; its policy is only ever given as `--pull=POLICY`,
    // so `build --pull DIR` keeps DIR as the context (commander would take it as the value).
    await program.parseAsync(
      argv.map((arg) => (arg === '--pull' ? '--pull=always' : arg)),
      { from: 'user' },
    );
    return 0;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof ExitStatus) return error.status;
  if (error instanceof CommanderError) {
    // --help and --version end through here with code 0.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UserError) {
    process.stderr.write(`error: ${error.message}\n${error.details ?? ''}`);
    return 1;
  }
  process.stderr.write(
    `tzbuild: internal error (please report): ` +
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}
