/**
 * NamespaceRunner, isolation side: the step sees its own env, user, files, processes and network.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NamespaceRunner } from '../../../runners/namespaces.js';
import { BUSYBOX_PATH, busyboxRootfs } from '../../helpers/busybox.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { runStep } from '../../helpers/run-step.js';

const privileged = await canRunPrivileged();
const runner = new NamespaceRunner();
const hostMarker = path.join(os.tmpdir(), `tzbuild-host-marker-${randomBytes(6).toString('hex')}`);
afterAll(() => rm(hostMarker, { force: true }));

/** Interface names from a /proc/net/dev listing. */
function interfaceNames(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}

describe.skipIf(!privileged)('NamespaceRunner isolation', () => {
  it('gives the step exactly spec.env, nothing from the host', async () => {
    const env = [`PATH=${BUSYBOX_PATH}`, 'GREETING=hello world', 'EMPTY=', 'MULTI=a=b'];
    process.env.TZBUILD_LEAK_CHECK = 'leaked';
    const step = await runStep(runner, ['env'], { env });
    delete process.env.TZBUILD_LEAK_CHECK;
    expect(step.stdout.split('\n').filter(Boolean).sort()).toEqual([...env].sort());
  });

  it('runs as the given uid, gid and additional groups', async () => {
    const step = await runStep(runner, ['sh', '-c', 'id -u; id -g; id -G'], {
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 65534],
    });
    expect(step.stdout).toBe('1000\n1000\n1000 65534\n');
  });

  it('drops privileges for real: a non-root step cannot write where root can', async () => {
    const step = await runStep(runner, ['sh', '-c', 'touch /root/x'], { uid: 1000, gid: 1000 });
    expect(step.result.exitCode).toBe(1);
    expect(step.stderr).toMatch(/Permission denied/);
  });

  it('cannot see host files', async () => {
    await writeFile(hostMarker, 'host secret');
    const step = await runStep(runner, ['sh', '-c', `test -e ${hostMarker} && echo visible || echo invisible; ls /`]);
    expect(step.stdout.split('\n')[0]).toBe('invisible');
    const rootEntries = step.stdout.split('\n').slice(1).filter(Boolean).sort();
    const imageEntries = (await readdir(await busyboxRootfs())).concat('dev', 'proc').sort();
    expect(rootEntries).toEqual(imageEntries);
  });

  it('cannot see host processes', async () => {
    const script = 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(cat $p/comm)"; done';
    const step = await runStep(runner, ['sh', '-c', script]);
    const processes = step.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
    // The init (perl, pid 1), the shell and its subshells: nothing from the host.
    expect(processes.length).toBeLessThanOrEqual(4);
    expect(processes.map(([pid]) => pid)).toContain('1');
    for (const [, comm] of processes) expect(['perl', 'sh', 'cat']).toContain(comm);
    expect(processes.find(([pid]) => pid === '1')?.[1]).toBe('perl');
  });

  it('has a fresh /proc and a minimal /dev', async () => {
    const script = 'ls /dev | tr "\\n" " "; echo; head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok';
    const step = await runStep(runner, ['sh', '-c', script]);
    const [devices = '', zeros, nullOk] = step.stdout.split('\n');
    expect(devices.trim().split(' ').sort()).toEqual(
      [
        'fd',
        'full',
        'null',
        'ptmx',
        'pts',
        'random',
        'shm',
        'stderr',
        'stdin',
        'stdout',
        'tty',
        'urandom',
        'zero',
      ].sort(),
    );
    expect(zeros?.trim()).toBe('4');
    expect(nullOk).toBe('null-ok');
  });

  it('keeps root out of kernel knobs (read-only /proc/sys)', async () => {
    const step = await runStep(runner, ['sh', '-c', 'echo 1 > /proc/sys/kernel/hostname']);
    expect(step.result.exitCode).not.toBe(0);
    expect(step.stderr).toMatch(/Read-only file system/);
  });

  it("runs root with Docker's default capabilities: no mounting, no escaping the rootfs", async () => {
    const step = await runStep(runner, [
      'sh',
      '-c',
      'mount -t tmpfs none /tmp; echo "mount=$?"; umount /etc/hosts; echo "umount=$?"',
    ]);
    expect(step.stdout).toBe('mount=1\numount=1\n');
    const caps = await runStep(runner, ['sh', '-c', 'grep CapBnd /proc/self/status']);
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
    // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    expect(caps.stdout.trim()).toBe('CapBnd:\t00000000a80425fb');
  });

  it('gives only loopback with network none, the host network by default', async () => {
    const none = await runStep(new NamespaceRunner({ network: 'none' }), ['sh', '-c', 'ip -o link show | cut -d: -f2']);
    expect(
      none.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    ).toEqual(['lo']);
    const up = await runStep(runner, ['sh', '-c', 'ip -o link show lo'], { network: 'none' });
    expect(up.stdout).toMatch(/[<,]UP[,>]/);
    const host = await runStep(runner, ['cat', '/proc/net/dev']);
    expect(interfaceNames(host.stdout)).toEqual(interfaceNames(await readFile('/proc/net/dev', 'utf8')));
  });
});
