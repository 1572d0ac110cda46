/**
 * Which `cgroup.procs` the OCI supervisor writes to warm the kernel's cgroup attach lock up just
 * before the runtime needs it.
 *
 * Moving a process into a cgroup takes a global lock (cgroup_threadgroup_rwsem) whose writer side
 * first waits out an RCU grace period, unless another writer held it a few milliseconds before:
 * the first `cgroup.procs` write after an idle spell is slow, the next ones are not. A
 * RUN step is such a first write (runc and crun move the container's init into its cgroups),
 * right on the build's path. So the supervisor starts the runtime and at the same moment has a
 * throwaway child write itself (`0`) into the cgroup it already is in: that child waits out the
 * grace period while the runtime loads, and the runtime's own writes find the lock warm (figures:
 * docs/benchmarks.md, round 5; a grace period much earlier gains nothing). The write changes
 * nothing: the child is where it was, and exits.
 */
import path from 'node:path';
import { cgroupMounts, type MountEntry } from '../../sys/mounts.js';
import { readText } from './runtime-binary.js';

let known: { target: string | undefined } | undefined;

/** `cgroup.procs` of this process's own cgroup, in a hierarchy the runtime sees; undefined when none. */
export function cgroupPrimeTarget(): string | undefined {
  known ??= { target: primeTarget(readText('/proc/self/cgroup'), cgroupMounts()) };
  return known.target;
}

/**
 * From `/proc/self/cgroup` and the mounts: a cgroup v1 hierarchy when the host has any (on a
 * hybrid host the cgroup2 one is hidden from crun, see runtime-binary.ts), else the cgroup2 one.
 */
export function primeTarget(cgroupFile: string, mounts: readonly MountEntry[]): string | undefined {
  const memberships = cgroupFile.split('\n').flatMap((line) => {
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    return match === null ? [] : [{ controllers: match[2] === '' ? [] : match[2]!.split(','), cgroup: match[3]! }];
  });
  const v1 = memberships.filter((entry) => entry.controllers.length > 0);
  for (const mount of mounts) {
    const candidates = mount.type === 'cgroup' ? v1 : mount.type === 'cgroup2' && v1.length === 0 ? memberships : [];
    const member = candidates.find(
      (entry) => mount.type === 'cgroup2' || entry.controllers.every((name) => mount.superOptions.includes(name)),
    );
    const inside = member && relativeTo(mount.root, member.cgroup);
    if (inside !== undefined) return path.join(mount.point, inside, 'cgroup.procs');
  }
  return undefined;
}

/** `cgroup` below the mount's `root`, or undefined when the mount does not show it. */
function relativeTo(root: string, cgroup: string): string | undefined {
  if (root === '/') return cgroup;
  return cgroup === root || cgroup.startsWith(`${root}/`) ? cgroup.slice(root.length) || '/' : undefined;
}
