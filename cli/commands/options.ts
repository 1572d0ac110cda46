/** Options several commands share, defined once. */
import { Option } from 'commander';

/** Commander's collector for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--root DIR`: which store. */
export const rootOption = () =>
  new Option(
    '--root <dir>',
    'store directory (default: $TZBUILD_ROOT, /var/lib/tzbuild as root, else ~/.local/share/tzbuild)',
  );

/** `--insecure-registry HOST[:PORT]` (repeatable), beside the store's `insecure-registries`. */
export const insecureOption = () =>
  new Option(
    '--insecure-registry <host[:port]>',
    'allow plain http to this registry (repeatable; localhost and 127.0.0.1 always are)',
  )
    .argParser(collect)
    .default([]);

/** `--runner KIND`: what runs RUN steps or containers. */
export const runnerOption = (what: string) =>
  new Option('--runner <kind>', `what runs ${what}: auto, runc, crun or namespaces`).default('auto');
