/** Image references, auth challenges, platform choice and bounded parallelism: pure units. */
import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../../registry/auth.js';
import { selectPlatform } from '../../../registry/manifests.js';
import { mapLimit } from '../../../registry/parallel.js';
import {
  credentialKey,
  familiarName,
  formatReference,
  hasExplicitRegistry,
  isPlainHttpAllowed,
  normalizeRegistryName,
  parseReference,
  registryApiHost,
} from '../../../registry/reference.js';
import { MediaType } from '../../../core/oci.js';

const digest = `sha256:${'ab'.repeat(32)}` as const;

describe('parseReference', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.19', 'docker.io/library/alpine:3.19'],
    ['library/alpine', 'docker.io/library/alpine:latest'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine:edge', 'docker.io/library/alpine:edge'],
    ['team/app:1', 'docker.io/team/app:1'],
    ['team/sub/app', 'docker.io/team/sub/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:1', 'localhost:5000/app:1'],
    ['127.0.0.1:5000/a/b/c:v1.2-rc_3', '127.0.0.1:5000/a/b/c:v1.2-rc_3'],
    ['ghcr.io/owner/repo', 'ghcr.io/owner/repo:latest'],
    ['registry.example.com:443/x.y/z__w:tag', 'registry.example.com:443/x.y/z__w:tag'],
    ['Registry.Example.com/app', 'Registry.Example.com/app:latest'],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    ['my-app.name---x', 'docker.io/library/my-app.name---x:latest'],
    [`alpine@${digest}`, `docker.io/library/alpine@${digest}`],
    [`localhost:5000/app:1@${digest}`, `localhost:5000/app@${digest}`],
  ])('%s → %s', (text, full) => {
    expect(formatReference(parseReference(text))).toBe(full);
  });

  it('splits registry, repository, tag and digest', () => {
    expect(parseReference(`localhost:5000/team/app:1@${digest}`)).toEqual({
      registry: 'localhost:5000',
      repository: 'team/app',
      tag: '1',
      digest,
    });
    expect(parseReference(`app@${digest}`)).toEqual({ registry: 'docker.io', repository: 'library/app', digest });
    expect(parseReference('app')).toEqual({ registry: 'docker.io', repository: 'library/app', tag: 'latest' });
  });

  it.each([
    ['', /empty/],
    ['Alpine', /must be lowercase/],
    ['team/App', /must be lowercase/],
    ['app:', /invalid tag/],
    ['app:-x', /invalid tag/],
    [`app:${'t'.repeat(129)}`, /invalid tag/],
    ['app@sha256:abc', /malformed digest/],
    [`app@sha512:${'a'.repeat(128)}`, /only sha256/],
    ['a@b@c', /more than one/],
    ['has space', /whitespace/],
    ['team//app', /invalid repository path component ""/],
    ['app_', /invalid repository path component/],
    ['-app', /invalid repository path component/],
    ['host:port:5000/app', /invalid registry host/],
    ['localhost:5000/', /invalid repository path component ""/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
  ])('refuses %j', (text, reason) => {
    expect(() => parseReference(text)).toThrow(reason);
  });

  it('names the short form, the API host and the credential key', () => {
    expect(familiarName(parseReference('docker.io/library/alpine'))).toBe('alpine:latest');
    expect(familiarName(parseReference('team/app:1'))).toBe('team/app:1');
    expect(familiarName(parseReference('localhost:5000/app'))).toBe('localhost:5000/app:latest');
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
    expect(credentialKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(credentialKey('localhost:5000')).toBe('localhost:5000');
    expect(normalizeRegistryName('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeRegistryName('https://ghcr.io/')).toBe('ghcr.io');
    expect(normalizeRegistryName('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });

  it('knows which references name a registry', () => {
    expect(hasExplicitRegistry('alpine')).toBe(false);
    expect(hasExplicitRegistry('team/app')).toBe(false);
    expect(hasExplicitRegistry('localhost/app')).toBe(true);
    expect(hasExplicitRegistry('host:5000/app')).toBe(true);
    expect(hasExplicitRegistry('ghcr.io/a/b')).toBe(true);
  });

  it('allows plain http only for loopback and named insecure registries', () => {
    expect(isPlainHttpAllowed('localhost:5000')).toBe(true);
    expect(isPlainHttpAllowed('127.0.0.1:41000')).toBe(true);
    expect(isPlainHttpAllowed('[::1]:5000')).toBe(true);
    expect(isPlainHttpAllowed('registry.lan:5000')).toBe(false);
    expect(isPlainHttpAllowed('registry.lan:5000', ['registry.lan:5000'])).toBe(true);
    expect(isPlainHttpAllowed('registry.lan:5000', ['registry.lan'])).toBe(true);
    expect(isPlainHttpAllowed('127.0.0.2:5000')).toBe(false);
  });
});

describe('parseChallenge', () => {
  it('reads Bearer parameters, quoted or not, with commas and escapes inside quotes', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",' +
          'scope="repository:library/alpine:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/alpine:pull,push',
      },
    });
    expect(parseChallenge('Basic realm="Registry \\"Realm\\""')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry "Realm"' },
    });
    expect(parseChallenge('Bearer realm=https://x/token, service=x')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://x/token', service: 'x' },
    });
    expect(parseChallenge('')).toBeUndefined();
  });
});

describe('selectPlatform', () => {
  const entry = (architecture: string, variant?: string, os = 'linux') => ({
    mediaType: MediaType.ociManifest,
    digest: `sha256:${(architecture + (variant ?? '')).padEnd(64, '0').replace(/[^a-f0-9]/g, 'f')}` as const,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  const list = [
    entry('arm', 'v6'),
    entry('arm', 'v7'),
    entry('amd64', undefined, 'windows'),
    entry('amd64'),
    entry('arm64', 'v8'),
  ];

  it('matches os and architecture, then variant', () => {
    expect(selectPlatform(list, { os: 'linux', architecture: 'amd64' })).toBe(list[3]);
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(list[1]);
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(list[4]);
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm64' })).toBe(list[4]);
    expect(selectPlatform(list, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });
});

describe('mapLimit', () => {
  it('keeps order, never runs more than the limit, and stops starting work after a failure', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (ms, i) => {
      started.push(i);
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running--;
      return ms * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
    expect(started.sort()).toEqual([0, 1, 2, 3, 4]);
    const seen: number[] = [];
    await expect(
      mapLimit([1, 2, 3, 4], 1, async (n) => {
        seen.push(n);
        if (n === 2) throw new Error('boom');
        return n;
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1, 2]);
  });
});
