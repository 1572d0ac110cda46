/**
 * The certificates tzbuild's TLS connections (registries, ADD https://) trust: Node's roots plus
 * the file NODE_EXTRA_CA_CERTS names, as any Node program would.
 *
 * Node 20 reads that file, and builds its whole root store, while it starts, before a line of
 * tzbuild runs: a cost every command would pay where the variable names Debian's bundle. So
 * bin/tzbuild's `#!` line starts Node without it and hands the path over as
 * TZBUILD_NODE_EXTRA_CA_CERTS; the file is read here, on the first TLS connection.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Set by bin/tzbuild's `#!` line: NODE_EXTRA_CA_CERTS as the user gave it (empty when unset). */
export const HANDED_OVER_CA_ENV = 'TZBUILD_NODE_EXTRA_CA_CERTS';

let trusted: { ca?: string[] } | undefined;

/**
 * TLS options for https agents and requests: `{ ca }` when extra certificates were handed over,
 * else `{}` (Node's defaults, which include NODE_EXTRA_CA_CERTS when Node itself read it). An
 * unreadable file is skipped with a warning, as Node does.
 */
export function tlsTrust(env: NodeJS.ProcessEnv = process.env): { ca?: string[] } {
  if (trusted !== undefined) return trusted;
  const file = env[HANDED_OVER_CA_ENV];
  trusted = {};
  if (file && !env.NODE_EXTRA_CA_CERTS) {
    try {
      // node:tls on first use: the build chunk holds ADD's downloader, and a build rarely downloads.
      const { rootCertificates } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
      trusted = { ca: [...rootCertificates, readFileSync(file, 'utf8')] };
    } catch (error) {
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(error as Error).message}`);
    }
  }
  return trusted;
}
