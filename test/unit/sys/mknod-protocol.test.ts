/**
 * The mknod helper's lines, and the helper itself where no root is needed (a FIFO): a machine
 * without a mknodat number gets `unsupported`, which DeviceMaker turns into coreutils mknod.
 */
import { lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { helperFile } from '../../../sys/helper-files.js';
import {
  encodeDevice,
  encodeMknodRequest,
  mknodArgs,
  nodeMode,
  parseMknodAnswer,
} from '../../../sys/mknod-protocol.js';
import { tempDir } from '../../helpers/layers.js';

describe('mknod protocol', () => {
  it('encodes a request: octal mode, Linux device number, hex path', () => {
    expect(nodeMode('char', 0o666)).toBe(0o20666);
    expect(nodeMode('fifo', 0o100644)).toBe(0o10644);
    expect(encodeDevice(1, 3)).toBe(0x103);
    expect(encodeDevice(0x123, 0x45678)).toBe(0x45612378);
    expect(encodeMknodRequest({ mode: 0o20666, device: 0x103, path: '/d/n\n' })).toBe('20666 259 2f642f6e0a\n');
  });

  it('parses the answers', () => {
    expect(parseMknodAnswer('ok')).toEqual({ kind: 'ok' });
    expect(parseMknodAnswer('unsupported')).toEqual({ kind: 'unsupported' });
    expect(parseMknodAnswer('err File exists')).toEqual({ kind: 'error', message: 'File exists' });
  });

  it('the helper answers each line, or `unsupported` for a machine it has no number for', async () => {
    const dir = await tempDir();
    const fifo = path.join(dir, 'fifo');
    const lines = [fifo, fifo]
      .map((target) => encodeMknodRequest({ mode: nodeMode('fifo', 0o600), device: 0, path: target }))
      .join('');
    const here = await execa('perl', [helperFile('mknod.pl'), ...mknodArgs(os.machine())], { input: lines });
    expect(here.stdout.split('\n')).toEqual(['ok', 'err File exists']);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    const elsewhere = await execa('perl', [helperFile('mknod.pl'), ...mknodArgs('pdp11')], { input: lines });
    expect(elsewhere.stdout).toBe('unsupported\nunsupported');
  });
});
