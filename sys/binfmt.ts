/**
 * Whether this machine can run another architecture's binaries: its own (and what the CPU runs
 * natively, 386 on amd64) or through a binfmt_misc handler, as Debian's qemu-user-static
 * registers them (`qemu-aarch64` …). The handler needs the fix-binary flag (F): the kernel then
 * opens the interpreter at registration, so it works inside a container's rootfs without the
 * emulator being copied there (nothing of the host reaches a layer).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostArchitecture } from '../core/oci.js';

export const BINFMT_MISC_DIR = '/proc/sys/fs/binfmt_misc';

/** OCI architecture → qemu's name for it (the handler is `qemu-<name>`). */
const qemuNames: Readonly<Record<string, string>> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  loong64: 'loongarch64',
};

/** Architectures a CPU of `host` runs without help. */
const nativeAlso: Readonly<Record<string, readonly string[]>> = { amd64: ['386'] };

/** True when binaries of `architecture` run here without an emulator. */
export function runsNatively(architecture: string, host = hostArchitecture()): boolean {
  return architecture === host || (nativeAlso[host] ?? []).includes(architecture);
}

/**
 * Why RUN steps for `architecture` cannot run here, as one sentence that says how to fix it, or
 * undefined when they can. `dir` is binfmt_misc's mount (a test passes a fake one).
 */
export function missingEmulator(
  architecture: string,
  dir = BINFMT_MISC_DIR,
  host = hostArchitecture(),
): string | undefined {
  if (runsNatively(architecture, host)) return undefined;
  const qemu = qemuNames[architecture];
  if (qemu === undefined) return `no emulator is known for architecture ${architecture}`;
  const handler = `qemu-${qemu}`;
  const install = `apt-get install qemu-user-static binfmt-support && update-binfmts --enable ${handler}`;
  const status = readOrUndefined(path.join(dir, 'status'));
  if (status === undefined)
    return `binfmt_misc is not mounted (mount -t binfmt_misc binfmt_misc ${dir}; then ${install})`;
  if (status.trim() !== 'enabled') return `binfmt_misc is disabled (echo 1 > ${path.join(dir, 'status')})`;
  const entry = readOrUndefined(path.join(dir, handler));
  if (entry === undefined) return `no binfmt_misc handler ${handler} is registered (${install})`;
  const lines = entry.split('\n');
  if (lines[0]?.trim() !== 'enabled') return `the binfmt_misc handler ${handler} is disabled (${install})`;
  const flags =
    lines
      .find((line) => line.startsWith('flags:'))
      ?.slice('flags:'.length)
      .trim() ?? '';
  if (!flags.includes('F'))
    return (
      `the binfmt_misc handler ${handler} lacks the fix-binary flag F, so it cannot work inside a container ` +
      `(re-register it with F: Debian's qemu-user-static does)`
    );
  return undefined;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
