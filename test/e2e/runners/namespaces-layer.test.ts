/**
 * NamespaceRunner, filesystem side: what a step writes lands in the upperdir and nowhere else.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NamespaceRunner } from '../../../runners/namespaces.js';
import { busyboxRootfs } from '../../helpers/busybox.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { runStep, stepScratchRoot } from '../../helpers/run-step.js';

const privileged = await canRunPrivileged();
const runner = new NamespaceRunner();

/** A one-file layer dir, to stack on top of busybox. */
async function layerWith(name: string, file: string, content: string): Promise<string> {
  const dir = path.join(await stepScratchRoot(), name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, file), content);
  return dir;
}

describe.skipIf(!privileged)('NamespaceRunner layer', () => {
  it('puts a new file in the upperdir only', async () => {
    const lower = await busyboxRootfs();
    const step = await runStep(runner, ['sh', '-c', 'echo built > /hello.txt']);
    expect(step.result).toEqual({ exitCode: 0 });
    expect(await readFile(path.join(step.upperdir, 'hello.txt'), 'utf8')).toBe('built\n');
    expect(existsSync(path.join(lower, 'hello.txt'))).toBe(false);
  });

  it('records a deleted lower file as a 0/0 character device', async () => {
    const lower = await busyboxRootfs();
    const step = await runStep(runner, ['rm', '/etc/group']);
    expect(step.result.exitCode).toBe(0);
    const whiteout = await lstat(path.join(step.upperdir, 'etc/group'));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    expect(existsSync(path.join(lower, 'etc/group'))).toBe(true);
  });

  it('creates the working directory when it is missing (and it stays in the layer)', async () => {
    const step = await runStep(runner, ['pwd'], { cwd: '/srv/app/deep' });
    expect(step.stdout).toBe('/srv/app/deep\n');
    expect((await lstat(path.join(step.upperdir, 'srv/app/deep'))).isDirectory()).toBe(true);
  });

  it('provides /etc/hosts, resolv.conf and hostname without leaving them in the layer', async () => {
    const script = 'cat /etc/hostname; hostname; grep -c localhost /etc/hosts; test -r /etc/resolv.conf && echo ok';
    const step = await runStep(runner, ['sh', '-c', script], { hostname: 'buildbox' });
    expect(step.stdout).toBe('buildbox\nbuildbox\n2\nok\n');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('keeps edits to /etc/hosts out of the layer', async () => {
    const step = await runStep(runner, ['sh', '-c', 'echo 10.0.0.1 db >> /etc/hosts && grep db /etc/hosts']);
    expect(step.stdout).toBe('10.0.0.1 db\n');
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('leaves no /proc or /dev mountpoints in the layer, even over an empty (scratch) rootfs', async () => {
    const step = await runStep(runner, ['/bin/sh', '-c', 'true'], { lowerdirs: [] });
    expect(step.result.exitCode).toBe(127);
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('stacks lowerdirs with the last one on top', async () => {
    const middle = await layerWith('layer-a', 'which', 'A');
    const top = await layerWith('layer-b', 'which', 'B');
    const step = await runStep(runner, ['cat', '/which'], { lowerdirs: [await busyboxRootfs(), middle, top] });
    expect(step.stdout).toBe('B');
  });

  it('mounts a long chain of layers with long, colon-containing names', async () => {
    const layers: string[] = [];
    for (let i = 0; i < 80; i += 1) {
      layers.push(await layerWith(`chain/sha256:${String(i).padStart(64, 'a')}`, `layer-${i}`, String(i)));
    }
    const step = await runStep(runner, ['sh', '-c', 'cat /layer-0; echo; cat /layer-79; echo; ls / | grep -c layer-'], {
      lowerdirs: [await busyboxRootfs(), ...layers],
    });
    expect(step.stderr).toBe('');
    expect(step.stdout).toBe('0\n79\n80\n');
  });

  it('never follows an image symlink at /etc onto the host', async () => {
    const hostDir = path.join(await stepScratchRoot(), 'host-etc');
    await mkdir(hostDir, { recursive: true });
    const layer = path.join(await stepScratchRoot(), 'symlinked-etc');
    await mkdir(layer, { recursive: true });
    await symlink(hostDir, path.join(layer, 'etc'));
    const step = await runStep(runner, ['sh', '-c', 'readlink /etc; test -e /etc/hosts || echo no-hosts'], {
      lowerdirs: [await busyboxRootfs(), layer],
    });
    expect(step.result.exitCode).toBe(0);
    expect(step.stdout).toBe(`${hostDir}\nno-hosts\n`);
    expect(await readdir(hostDir)).toEqual([]);
    expect(await readdir(step.upperdir)).toEqual([]);
  });

  it('does not touch the image /etc attributes when the step writes into /etc', async () => {
    const lower = await busyboxRootfs();
    const step = await runStep(runner, ['sh', '-c', 'echo x > /etc/added']);
    const [image, layer] = await Promise.all([lstat(path.join(lower, 'etc')), lstat(path.join(step.upperdir, 'etc'))]);
    expect({ mode: layer.mode, uid: layer.uid, gid: layer.gid }).toEqual({
      mode: image.mode,
      uid: image.uid,
      gid: image.gid,
    });
    expect(await readdir(path.join(step.upperdir, 'etc'))).toEqual(['added']);
  });
});
