/**
 * The shared runner behaviour suite (runner-suite.ts) against the OCI runtime `crun`.
 */
import { OciRuntimeRunner } from '../../../runners/oci/oci-runtime.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { describeRunnerBehaviour } from './runner-suite.js';
import { installedRuntime } from './runtime-install.js';

const binary = await installedRuntime('crun');
describeRunnerBehaviour(
  {
    name: 'crun',
    make: (options) => new OciRuntimeRunner({ ...options, runtime: 'crun', binary }),
    runtimeBinary: binary,
  },
  await canRunPrivileged(),
);
