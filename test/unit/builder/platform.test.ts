/** Platform names as --platform and FROM --platform take them, and the ARGs made of them. */
import { describe, expect, it } from 'vitest';
import { formatPlatform, parsePlatform, parsePlatformList, predefinedArgs } from '../../../builder/platform.js';

describe('parsePlatform', () => {
  it('normalises as containerd does', () => {
    const cases: Record<string, string> = {
      'linux/amd64': 'linux/amd64',
      'Linux/X86_64': 'linux/amd64',
      'linux/aarch64': 'linux/arm64',
      'linux/arm64/v8': 'linux/arm64',
      'linux/arm': 'linux/arm/v7',
      'linux/arm/6': 'linux/arm/v6',
      'linux/armhf': 'linux/arm/v7',
      'linux/amd64/v1': 'linux/amd64',
      'linux/amd64/v3': 'linux/amd64/v3',
      'linux/i386': 'linux/386',
    };
    for (const [text, expected] of Object.entries(cases)) {
      const parsed = parsePlatform(text);
      expect(parsed && formatPlatform(parsed), text).toBe(expected);
    }
  });

  it('refuses what is not os/arch[/variant]', () => {
    for (const text of ['', 'linux', 'linux/', '/arm64', 'linux/arm/v7/x', 'linux/arm 64'])
      expect(parsePlatform(text), text).toBeUndefined();
  });
});

describe('parsePlatformList', () => {
  it('takes a comma list, drops repeats, keeps the order', () => {
    expect(parsePlatformList('linux/arm64, linux/amd64,linux/aarch64').map(formatPlatform)).toEqual([
      'linux/arm64',
      'linux/amd64',
    ]);
  });

  it('names the entry it cannot read', () => {
    expect(() => parsePlatformList('linux/amd64,arm64')).toThrow(
      'invalid platform "arm64" (expected os/arch[/variant], e.g. linux/arm64)',
    );
  });
});

describe('predefinedArgs', () => {
  it('sets BUILD* from where the build runs and TARGET* from the target', () => {
    const args = predefinedArgs(
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { os: 'linux', architecture: 'amd64' },
    );
    expect(args).toEqual({
      BUILDPLATFORM: 'linux/amd64',
      BUILDOS: 'linux',
      BUILDARCH: 'amd64',
      BUILDVARIANT: '',
      TARGETPLATFORM: 'linux/arm/v7',
      TARGETOS: 'linux',
      TARGETARCH: 'arm',
      TARGETVARIANT: 'v7',
    });
  });
});
