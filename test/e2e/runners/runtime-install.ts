/**
 * Makes sure an OCI runtime is installed for the runner tests (apt-get, as root), so the suite
 * never passes by skipping: a host that cannot get the runtime fails the test file.
 */
import { execa } from 'execa';
import { findRuntime, type OciRuntimeKind } from '../../../runners/oci/runtime-binary.js';

/** Path of `kind`, installing the Debian package when it is missing. */
export async function installedRuntime(kind: OciRuntimeKind): Promise<string> {
  const found = findRuntime(kind);
  if (found) return found;
  const install = () => execa('apt-get', ['install', '-y', '--no-install-recommends', kind], { reject: false });
  if ((await install()).exitCode !== 0) {
    await execa('apt-get', ['update']);
    await execa('apt-get', ['install', '-y', '--no-install-recommends', kind]);
  }
  const installed = findRuntime(kind);
  if (!installed) throw new Error(`${kind} is still missing after apt-get install ${kind}`);
  return installed;
}
