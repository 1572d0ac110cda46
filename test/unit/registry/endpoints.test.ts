import { describe, expect, it } from 'vitest';
import { endpointsFor, parseMirror } from '../../../registry/endpoints.js';
import { isPlainHttpAllowed, parseReference } from '../../../registry/reference.js';

const settings = { mirrors: ['http://127.0.0.1:5000', 'https://mirror.example'], insecure: [], hubFallback: true };

describe('registry endpoints', () => {
  it('asks the mirrors in order for Docker Hub names, then Docker Hub unless hub-fallback is false', () => {
    expect(endpointsFor(parseReference('node:20'), settings)).toEqual([
      { registry: '127.0.0.1:5000', mirror: true, plainHttp: true },
      { registry: 'mirror.example', mirror: true, plainHttp: false },
      { registry: 'docker.io', mirror: false, plainHttp: false },
    ]);
    expect(endpointsFor(parseReference('node:20'), { ...settings, hubFallback: false })).toHaveLength(2);
    expect(endpointsFor(parseReference('node:20'), { ...settings, mirrors: [], hubFallback: false })).toEqual([]);
  });

  it('sends other registries their own names only', () => {
    expect(endpointsFor(parseReference('ghcr.io/team/app:1'), settings)).toEqual([
      { registry: 'ghcr.io', mirror: false, plainHttp: false },
    ]);
  });

  it('refuses mirror URLs Docker refuses, naming where they came from', () => {
    expect(() => parseMirror('ftp://x', 'config.json')).toThrow(/^config\.json: registry mirror "ftp:\/\/x" must be/);
    expect(() => parseMirror('http://host/path', 'TZBUILD_REGISTRY_MIRRORS')).toThrow(/with no path/);
    expect(() => parseMirror('not a url', 'config.json')).toThrow(
      'config.json: registry mirror "not a url" is not a URL',
    );
  });

  it('allows plain http for loopback, named hosts and CIDR ranges of insecure-registries', () => {
    expect(isPlainHttpAllowed('127.0.0.1:5000')).toBe(true);
    expect(isPlainHttpAllowed('10.1.2.3:5000', ['10.0.0.0/8'])).toBe(true);
    expect(isPlainHttpAllowed('11.1.2.3:5000', ['10.0.0.0/8'])).toBe(false);
    expect(isPlainHttpAllowed('[fd00::5]:5000', ['fd00::/8'])).toBe(true);
    expect(isPlainHttpAllowed('registry.lan:5000', ['registry.lan'])).toBe(true);
    // Host names are not resolved for a range match (as in Docker); a bad range matches nothing.
    expect(isPlainHttpAllowed('registry.lan', ['10.0.0.0/8'])).toBe(false);
    expect(isPlainHttpAllowed('10.1.2.3', ['10.0.0.0/99'])).toBe(false);
  });
});
