/**
 * The options of `pull`, `push`, `catalog`, `tags`, `login` and `logout`; their work is in registry.ts, imported
 * only when one of them runs.
 */
import { Option, type Command } from 'commander';
import { lazyAction } from './lazy-action.js';
import { insecureOption, rootOption } from './options.js';

const registryModule = () => import('./registry.js');

/** Adds `pull`, `push`, `catalog`, `tags`, `login` and `logout` to the program. */
export function registerRegistryCommands(program: Command): void {
  program
    .command('pull')
    .description('pull an image from a registry into the store')
    .argument('<name>')
    .option(
      '--platform <os/arch[/variant]>',
      "platform to pull from a multi-platform image (default: linux on this machine's architecture)",
    )
    .option('--all-platforms', 'pull every platform of a multi-platform image; the name points at their index')
    .addOption(insecureOption())
    .option('-q, --quiet', 'print only the image name')
    .addOption(rootOption())
    .action(lazyAction(registryModule, 'pullCommand'));
  program
    .command('push')
    .description('push an image from the store to a registry')
    .argument('<name>')
    .addOption(new Option('--compression <kind>', 'layer compression').choices(['gzip', 'zstd']).default('gzip'))
    .option('--compression-level <n>', 'compression level (gzip 1-9, default 6; zstd 1-19, default 3)')
    .addOption(new Option('--format <format>', 'manifest format').choices(['oci', 'docker']).default('oci'))
    .addOption(insecureOption())
    .option('-q, --quiet', 'print only the pushed digest')
    .addOption(rootOption())
    .action(lazyAction(registryModule, 'pushCommand'));
  program
    .command('catalog')
    .description('list the repositories of a registry')
    .argument('<registry>', 'host[:port]')
    .addOption(insecureOption())
    .addOption(rootOption())
    .action(lazyAction(registryModule, 'catalogCommand'));
  program
    .command('tags')
    .description('list the tags of a repository in its registry')
    .argument('<repository>', '[host[:port]/]name')
    .addOption(insecureOption())
    .addOption(rootOption())
    .action(lazyAction(registryModule, 'tagsCommand'));
  program
    .command('login')
    .description("log in to a registry (stores credentials in Docker's config.json)")
    .argument('[server]', 'registry', 'docker.io')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .addOption(insecureOption())
    .action(lazyAction(registryModule, 'loginCommand'));
  program
    .command('logout')
    .description('forget the credentials of a registry')
    .argument('[server]', 'registry', 'docker.io')
    .action(lazyAction(registryModule, 'logoutCommand'));
}
