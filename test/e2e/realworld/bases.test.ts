/**
 * The real bases the real-world suites and bench/realworld.sh use (test/helpers/real-bases.ts):
 * valid OCI images skopeo reads, with what a company's base image carries (the machine's CAs in
 * the system bundle; for node, Node and npm runnable and NODE_EXTRA_CA_CERTS set). Running this
 * file also makes them, cached under .tzbuild-test/, for the benchmark.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { realBaseLayouts } from '../../helpers/real-bases.js';

describe('real bases', () => {
  it('are OCI images skopeo reads, carrying the machine CAs and, for node, a working Node and npm', async () => {
    const { debian, node } = await realBaseLayouts();
    const inspect = async (layout: string) =>
      JSON.parse((await execa('skopeo', ['inspect', `oci:${layout}:base`])).stdout) as {
        Env: string[];
        Layers: string[];
      };
    expect((await inspect(debian)).Layers).toHaveLength(1);
    const nodeImage = await inspect(node);
    expect(nodeImage.Layers).toHaveLength(2);
    expect(nodeImage.Env).toContain('NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
    const root = path.join(path.dirname(debian), 'debian-rootfs');
    const bundle = await readFile(path.join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
    for (const name of await readdir('/usr/local/share/ca-certificates').catch(() => [])) {
      if (!name.endsWith('.crt')) continue;
      const pem = (await readFile(path.join('/usr/local/share/ca-certificates', name), 'utf8')).trim();
      expect(bundle).toContain(pem.split('\n').slice(1, 3).join('\n'));
    }
    const nodeRoot = path.join(path.dirname(node), 'node-rootfs');
    expect((await execa(path.join(nodeRoot, 'usr/bin/node'), ['--version'])).stdout).toBe(process.version);
    const npm = await execa(path.join(nodeRoot, 'usr/bin/node'), [path.join(nodeRoot, 'usr/bin/npm'), '--version']);
    expect(npm.stdout).toMatch(/^\d+\.\d+\.\d+$/);
  }, 1_200_000);
});
