/**
 * The shared runner behaviour suite (runner-suite.ts) against the OCI runtime `runc`.
 */
import { OciRuntimeRunner } from '../../../runners/oci/oci-runtime.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { describeRunnerBehaviour } from './runner-suite.js';
import { installedRuntime } from './runtime-install.js';

const binary = await installedRuntime('runc');
describeRunnerBehaviour(
  {
    name: 'runc',
    make: (options) => new OciRuntimeRunner({ ...options, runtime: 'runc', binary }),
    runtimeBinary: binary,
  },
  await canRunPrivileged(),
);
