/**
 * One behaviour suite for every Runner: the namespace runner, runc and crun must all pass the same
 * tests (each runner has a tiny `*.test.ts` that calls `describeRunnerBehaviour`). Needs root.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { Runner } from '../../../core/ports.js';
import { BUSYBOX_PATH, busyboxRootfs } from '../../helpers/busybox.js';
import { mountsUnder, overlayDirsInUse, overlaysUsing } from '../../helpers/mounts.js';
import { runStep, stepScratchRoot } from '../../helpers/run-step.js';
import { registerMountCases } from './runner-mounts.js';
import { cgroupsNamed, capabilityToolLayer, namesBeneathMount, stepProcesses, waitFor } from './suite-helpers.js';

/** A runner to put through the suite. */
export interface RunnerUnderTest {
  name: string;
  /** `containerPrefix` names the runner's containers and cgroups apart from other test files'. */
  make(options: { tmpRoot: string; containerPrefix: string }): Runner;
  /** For OCI runtimes: the binary, to check it knows no container afterwards. */
  runtimeBinary?: string;
}

/** Docker's default bounding set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 * NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
const DOCKER_CAP_MASK = '00000000a80425fb';

/** Registers the shared suite; `enabled` is the privileged-host gate (canRunPrivileged). */
export function describeRunnerBehaviour(subject: RunnerUnderTest, enabled: boolean): void {
  describe.skipIf(!enabled)(`${subject.name} runner behaviour`, () => {
    let tmpRoot = '';
    const containerPrefix = `tzbuild-suite-${subject.name}-`;
    let runner: Runner;
    const hostMarker = path.join(os.tmpdir(), `tzbuild-host-secret-${randomBytes(6).toString('hex')}`);
    const ensureRunner = async (): Promise<Runner> => {
      if (!tmpRoot) {
        tmpRoot = await mkdtemp(path.join(os.tmpdir(), `tzbuild-suite-${subject.name}-`));
        runner = subject.make({ tmpRoot, containerPrefix });
      }
      return runner;
    };
    afterAll(async () => {
      await rm(hostMarker, { force: true });
      if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true });
    });

    /** Nothing of the step may survive run(): mounts, overlay users, scratch dirs, cgroups, containers. */
    async function expectNothingLeft(upperdir: string, id: string): Promise<void> {
      expect(await overlayDirsInUse(upperdir, path.join(path.dirname(upperdir), 'work'))).toBe(false);
      expect(await mountsUnder(tmpRoot)).toEqual([]);
      expect(await mountsUnder(await stepScratchRoot())).toEqual([]);
      expect(await overlaysUsing(upperdir)).toEqual([]);
      expect(await readdir(tmpRoot)).toEqual([]);
      expect(await cgroupsNamed(containerPrefix)).toEqual([]);
      expect(
        (await namesBeneathMount('/sys/fs/cgroup/unified')).filter((name) => name.startsWith(containerPrefix)),
      ).toEqual([]);
      expect(await stepProcesses(id)).toEqual([]);
      if (subject.runtimeBinary) {
        const listed = await execa(subject.runtimeBinary, ['list', '--quiet'], { reject: false });
        expect(listed.stdout.split('\n').filter((name) => name.startsWith(containerPrefix))).toEqual([]);
      }
    }

    it('puts writes in the upperdir, never in the lowerdirs', async () => {
      const lower = await busyboxRootfs();
      const passwdBefore = await readFile(path.join(lower, 'etc/passwd'), 'utf8');
      const rootBefore = { names: await readdir(lower), mtime: (await lstat(lower)).mtimeMs };
      const step = await runStep(await ensureRunner(), [
        'sh',
        '-c',
        'echo built > /hello.txt; echo extra:x:5:5::/:/bin/sh >> /etc/passwd',
      ]);
      expect(step.result).toEqual({ exitCode: 0 });
      expect(await readFile(path.join(step.upperdir, 'hello.txt'), 'utf8')).toBe('built\n');
      expect(existsSync(path.join(lower, 'hello.txt'))).toBe(false);
      // Copy-on-write: the changed file is copied up whole; the lower one is untouched.
      expect(await readFile(path.join(step.upperdir, 'etc/passwd'), 'utf8')).toBe(
        `${passwdBefore}extra:x:5:5::/:/bin/sh\n`,
      );
      expect(await readFile(path.join(lower, 'etc/passwd'), 'utf8')).toBe(passwdBefore);
      // Nothing the runner needs (mountpoints, working dirs) was made in the image either.
      expect({ names: await readdir(lower), mtime: (await lstat(lower)).mtimeMs }).toEqual(rootBefore);
    });

    it('stacks a short chain by relative names and a long one through links, the same way', async () => {
      const layerDir = path.join(await stepScratchRoot(), `${subject.name}-chain`);
      const layers: string[] = [];
      for (let i = 0; i < 60; i += 1) {
        const layer = path.join(layerDir, String(i).padStart(64, '0'));
        await mkdir(layer, { recursive: true });
        await writeFile(path.join(layer, `layer-${i}`), String(i));
        layers.push(layer);
      }
      const script = 'cat /layer-0; echo; ls / | grep -c layer-';
      for (const count of [3, 60]) {
        const step = await runStep(await ensureRunner(), ['sh', '-c', script], {
          lowerdirs: [await busyboxRootfs(), ...layers.slice(0, count)],
        });
        expect(step.stderr).toBe('');
        expect(step.stdout).toBe(`0\n${count}\n`);
      }
    });

    it('records a deleted lower file as a 0/0 character device', async () => {
      const lower = await busyboxRootfs();
      const step = await runStep(await ensureRunner(), ['rm', '/etc/group']);
      expect(step.result.exitCode).toBe(0);
      const whiteout = await lstat(path.join(step.upperdir, 'etc/group'));
      expect(whiteout.isCharacterDevice()).toBe(true);
      expect(whiteout.rdev).toBe(0);
      expect(existsSync(path.join(lower, 'etc/group'))).toBe(true);
    });

    it('cannot reach the lowerdirs on the host', async () => {
      const lower = await busyboxRootfs();
      const step = await runStep(await ensureRunner(), [
        'sh',
        '-c',
        `test -e ${lower}/etc/passwd && echo visible || echo invisible`,
      ]);
      expect(step.stdout).toBe('invisible\n');
    });

    it('gives the step exactly spec.env', async () => {
      // HOME is in it, as the builder always puts it there (runc would add the passwd home otherwise).
      const env = [`PATH=${BUSYBOX_PATH}`, 'HOME=/home/nowhere', 'GREETING=hello world', 'EMPTY=', 'MULTI=a=b'];
      process.env.TZBUILD_LEAK_CHECK = 'leaked';
      const step = await runStep(await ensureRunner(), ['env'], { env });
      delete process.env.TZBUILD_LEAK_CHECK;
      expect(step.stdout.split('\n').filter(Boolean).sort()).toEqual([...env].sort());
    });

    it('creates a missing working directory, in the layer', async () => {
      const step = await runStep(await ensureRunner(), ['pwd'], { cwd: '/srv/app/deep' });
      expect(step.stdout).toBe('/srv/app/deep\n');
      expect((await lstat(path.join(step.upperdir, 'srv/app/deep'))).isDirectory()).toBe(true);
    });

    it('runs as the given uid, gid and additional groups, without root powers', async () => {
      const ids = await runStep(await ensureRunner(), ['sh', '-c', 'id -u; id -g; id -G'], {
        uid: 1000,
        gid: 1000,
        additionalGids: [1000, 65534],
      });
      expect(ids.stdout).toBe('1000\n1000\n1000 65534\n');
      const denied = await runStep(await ensureRunner(), ['sh', '-c', 'touch /root/x'], { uid: 1000, gid: 1000 });
      expect(denied.result.exitCode).toBe(1);
      expect(denied.stderr).toMatch(/Permission denied/);
      const caps = await runStep(await ensureRunner(), ['grep', 'CapEff', '/proc/self/status'], {
        uid: 1000,
        gid: 1000,
      });
      expect(caps.stdout.trim()).toBe('CapEff:\t0000000000000000');
    });

    it('sets exactly the supplementary groups given, none when none are (as runc under docker)', async () => {
      const groups = ['grep', '^Groups:', '/proc/self/status'];
      const listed = await runStep(await ensureRunner(), groups, { uid: 1001, gid: 500, additionalGids: [600, 700] });
      expect(listed.stdout.trim()).toBe('Groups:\t600 700');
      const none = await runStep(await ensureRunner(), groups, { uid: 1001, gid: 500, additionalGids: [] });
      expect(none.stdout.trim()).toBe('Groups:');
      const root = await runStep(await ensureRunner(), groups);
      expect(root.stdout.trim()).toBe('Groups:');
    });

    it("gives root exactly Docker's default capabilities", async () => {
      const step = await runStep(await ensureRunner(), ['grep', '-E', '^Cap(Bnd|Eff)', '/proc/self/status']);
      expect(step.stdout).toBe(`CapEff:\t${DOCKER_CAP_MASK}\nCapBnd:\t${DOCKER_CAP_MASK}\n`);
    });

    it('propagates exit codes and streams stdout and stderr apart', async () => {
      const step = await runStep(await ensureRunner(), ['sh', '-c', 'echo out; echo err >&2; exit 42']);
      expect(step.result).toEqual({ exitCode: 42 });
      expect(step.stdout).toBe('out\n');
      expect(step.stderr).toBe('err\n');
      // An exit status that looks like a signal is still an exit status.
      const high = await runStep(await ensureRunner(), ['sh', '-c', 'exit 137']);
      expect(high.result).toEqual({ exitCode: 137 });
    });

    it('gives exit code 127 and a clear message for a missing executable', async () => {
      const step = await runStep(await ensureRunner(), ['no-such-tool', '--version']);
      expect(step.result).toEqual({ exitCode: 127 });
      expect(step.stderr).toMatch(/no-such-tool.*executable file not found in \$PATH/);
      const absolute = await runStep(await ensureRunner(), ['/opt/missing']);
      expect(absolute.result).toEqual({ exitCode: 127 });
      expect(absolute.stderr).toMatch(/\/opt\/missing.*no such file or directory/);
    });

    it('reports the name of the signal that killed the step', async () => {
      const id = `tzbuild-sig-${randomBytes(4).toString('hex')}`;
      const pending = runStep(await ensureRunner(), ['sh', '-c', `sleep 100; echo ${id}`]);
      await waitFor(async () => (await stepProcesses(id)).length > 0);
      for (const pid of await stepProcesses(id)) process.kill(pid, 'SIGKILL');
      const step = await pending;
      expect(step.result).toEqual({ exitCode: 137, signal: 'SIGKILL' });
    });

    it('gives only a loopback device with network none, the host network by default', async () => {
      const none = await runStep(
        await ensureRunner(),
        ['sh', '-c', 'ip -o link show | cut -d: -f2; ip -o link show lo'],
        { network: 'none' },
      );
      const [names = '', lo = ''] = none.stdout.split(/\n(?=\d+:)/);
      expect(
        names
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean),
      ).toEqual(['lo']);
      expect(lo).toMatch(/[<,]UP[,>]/);
      const host = await runStep(await ensureRunner(), ['cat', '/proc/net/dev']);
      expect(interfaceNames(host.stdout)).toEqual(interfaceNames(await readFile('/proc/net/dev', 'utf8')));
    });

    it('cannot read a host file, see host processes or hold host fds', async () => {
      await writeFile(hostMarker, 'host secret');
      const files = await runStep(await ensureRunner(), ['sh', '-c', `cat ${hostMarker} || echo unreadable`]);
      expect(files.stdout).toBe('unreadable\n');
      const script = 'for p in /proc/[0-9]*; do echo "$(cat $p/comm)"; done';
      const procs = await runStep(await ensureRunner(), ['sh', '-c', script]);
      const comms = procs.stdout.split('\n').filter(Boolean);
      expect(comms.length).toBeLessThanOrEqual(4);
      for (const comm of comms) expect(['perl', 'sh', 'cat']).toContain(comm);
      // ls holds one fd of its own (3, the directory it lists); nothing else is open.
      const fds = await runStep(await ensureRunner(), ['ls', '/proc/self/fd']);
      expect(fds.stdout.split('\n').filter(Boolean).sort()).toEqual(['0', '1', '2', '3']);
    });

    it('keeps setuid bits and file capabilities set in the step', async () => {
      const tools = await capabilityToolLayer(path.join(await stepScratchRoot(), 'setcap-layer'));
      const script =
        'cp /bin/busybox /suid && chmod 4755 /suid && cp /bin/busybox /capped && /usr/sbin/setcap cap_net_raw+ep ' +
        '/capped';
      const step = await runStep(await ensureRunner(), ['sh', '-c', script], {
        lowerdirs: [await busyboxRootfs(), tools],
      });
      expect(step.stderr).toBe('');
      expect((await lstat(path.join(step.upperdir, 'suid'))).mode & 0o7777).toBe(0o4755);
      const caps = await execa('getcap', [path.join(step.upperdir, 'capped')]);
      expect(caps.stdout).toMatch(/capped cap_net_raw=ep$/);
    });

    it('provides /etc/hosts, resolv.conf and hostname, none of them in the layer', async () => {
      const script =
        'cat /etc/hostname; hostname; grep -c localhost /etc/hosts; test -r /etc/resolv.conf && echo ok; echo ' +
        '10.0.0.1 db >> /etc/hosts';
      const step = await runStep(await ensureRunner(), ['sh', '-c', script], { hostname: 'buildbox' });
      expect(step.stdout).toBe('buildbox\nbuildbox\n2\nok\n');
      expect(await readdir(step.upperdir)).toEqual([]);
    });

    it('kills a running step within seconds on abort, leaving nothing behind', async () => {
      const id = `tzbuild-abort-${randomBytes(4).toString('hex')}`;
      const controller = new AbortController();
      const pending = runStep(await ensureRunner(), ['sh', '-c', `sleep 100; echo ${id}`], {
        signal: controller.signal,
      });
      await waitFor(async () => (await stepProcesses(id)).length > 0);
      const abortedAt = Date.now();
      controller.abort();
      const step = await pending;
      expect(Date.now() - abortedAt).toBeLessThan(20_000); // the step sleeps 100 s; loose for busy CI machines
      expect(step.result).toEqual({ exitCode: 137, signal: 'SIGKILL' });
      await expectNothingLeft(step.upperdir, id);
    });

    it('does not start a step whose signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const step = await runStep(await ensureRunner(), ['sh', '-c', 'echo ran > /ran'], { signal: controller.signal });
      expect(step.result).toEqual({ exitCode: 137, signal: 'SIGKILL' });
      expect(await readdir(step.upperdir)).toEqual([]);
    });

    it('fails with a RUNNER_SETUP UserError when the overlay cannot be mounted, leaving nothing', async () => {
      const missing = path.join(await stepScratchRoot(), `missing-upper-${randomBytes(4).toString('hex')}`);
      const failing = runStep(await ensureRunner(), ['true'], { upperdir: missing });
      await expect(failing).rejects.toMatchObject({ code: 'RUNNER_SETUP', message: /mounting overlay/ });
      expect(await mountsUnder(tmpRoot)).toEqual([]);
      expect(await readdir(tmpRoot)).toEqual([]);
    });

    it('leaves nothing behind after a normal run', async () => {
      const id = `tzbuild-done-${randomBytes(4).toString('hex')}`;
      const step = await runStep(await ensureRunner(), ['sh', '-c', `echo ${id} > /dev/null; exit 3`]);
      expect(step.result).toEqual({ exitCode: 3 });
      await expectNothingLeft(step.upperdir, id);
    });

    registerMountCases({ runner: ensureRunner, tmpRoot: () => tmpRoot });
  });
}

/** Interface names from a /proc/net/dev listing. */
function interfaceNames(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}
