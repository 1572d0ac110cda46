/** The shared-cache flags and format: what parses, what is refused (and how it says so). */
import { describe, expect, it } from 'vitest';
import {
  cacheManifest,
  parseCacheConfig,
  type ExportedLayer,
  type ExportedRecord,
} from '../../../../cache/remote/format.js';
import { parseCacheFrom, parseCacheTo } from '../../../../cache/remote/spec.js';
import type { Descriptor } from '../../../../core/oci.js';

const digest = (c: string) => `sha256:${c.repeat(64)}` as const;

describe('--cache-to / --cache-from values', () => {
  it('reads buildx forms', () => {
    expect(parseCacheTo('type=registry,ref=127.0.0.1:5000/a/b:cache,mode=max')).toEqual({
      location: { type: 'registry', ref: '127.0.0.1:5000/a/b:cache' },
      mode: 'max',
      text: 'type=registry,ref=127.0.0.1:5000/a/b:cache,mode=max',
    });
    expect(parseCacheTo('type=local,dest=/tmp/c').mode).toBe('min');
    expect(parseCacheTo('type=local,dest=/tmp/c').location).toEqual({ type: 'local', dir: '/tmp/c' });
    expect(parseCacheFrom('type=local,src=/tmp/c').location).toEqual({ type: 'local', dir: '/tmp/c' });
    expect(parseCacheFrom('localhost:5000/app:cache').location).toEqual({
      type: 'registry',
      ref: 'localhost:5000/app:cache',
    });
  });

  it('refuses what it cannot honour, naming the flag and the problem', () => {
    expect(() => parseCacheTo('type=inline')).toThrow(
      '--cache-to type=inline: unsupported cache type "inline" (use registry or local)',
    );
    expect(() => parseCacheTo('type=registry,ref=r:1,mode=all')).toThrow(
      '--cache-to type=registry,ref=r:1,mode=all: mode must be min or max, not "all"',
    );
    expect(() => parseCacheTo('type=registry')).toThrow('type=registry needs ref=NAME[:TAG]');
    expect(() => parseCacheFrom('type=local,dest=/x')).toThrow(
      '--cache-from type=local,dest=/x: unknown field "dest=/x" (expected type, ref, src)',
    );
    expect(() => parseCacheFrom('type=local')).toThrow('type=local needs src=DIR');
  });
});

describe('cache config', () => {
  const layers: ExportedLayer[] = [
    {
      diffId: digest('a'),
      size: 10,
      blob: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest('b'), size: 5 },
    },
    {
      diffId: digest('c'),
      size: 20,
      blob: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest('d'), size: 7 },
    },
  ];
  const records: ExportedRecord[] = [
    {
      key: '1'.repeat(64),
      layer: { diffId: digest('c'), size: 20 },
      durationMs: 5,
      created: '2026-01-01T00:00:00.000Z',
    },
    { key: '2'.repeat(64), durationMs: 0, created: '2026-01-01T00:00:00.000Z' },
  ];
  const manifestLayers = (bytes: Buffer) => (JSON.parse(bytes.toString('utf8')) as { layers: Descriptor[] }).layers;

  it('round-trips records and layers through the manifest and config', () => {
    const { configBytes, manifestBytes } = cacheManifest({ records, layers });
    expect(parseCacheConfig(configBytes, manifestLayers(manifestBytes))).toEqual({ records, layers });
  });

  it('keeps only the known fields of a record', () => {
    const config = {
      keyVersion: 1,
      layers: [],
      records: [{ key: '3'.repeat(64), durationMs: 1, created: '2026-01-01T00:00:00.000Z', token: 'secret' }],
    };
    expect(parseCacheConfig(Buffer.from(JSON.stringify(config)), []).records).toEqual([
      { key: '3'.repeat(64), durationMs: 1, created: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  it('refuses configs that do not match their manifest or point nowhere', () => {
    const { configBytes, manifestBytes } = cacheManifest({ records, layers });
    expect(() => parseCacheConfig(configBytes, manifestLayers(manifestBytes).slice(1))).toThrow(
      'the config names 2 layers, the manifest has 1',
    );
    const dangling = {
      keyVersion: 1,
      layers: [],
      records: [{ key: '4'.repeat(64), layer: 3, durationMs: 1, created: '2026-01-01T00:00:00.000Z' }],
    };
    expect(() => parseCacheConfig(Buffer.from(JSON.stringify(dangling)), [])).toThrow(
      `record ${'4'.repeat(64)} points at a layer the cache does not carry`,
    );
    expect(() => parseCacheConfig(Buffer.from(JSON.stringify({ ...dangling, keyVersion: 99 })), [])).toThrow(
      'made with cache key version 99',
    );
    const badKey = {
      keyVersion: 1,
      layers: [],
      records: [{ key: '../../etc', durationMs: 1, created: '2026-01-01T00:00:00.000Z' }],
    };
    expect(() => parseCacheConfig(Buffer.from(JSON.stringify(badKey)), [])).toThrow('a record is malformed');
    const badTime = {
      keyVersion: 1,
      layers: [],
      records: [{ key: '5'.repeat(64), durationMs: 1, created: 'yesterday' }],
    };
    expect(() => parseCacheConfig(Buffer.from(JSON.stringify(badTime)), [])).toThrow('a record is malformed');
  });
});
