/**
 * The shared runner behaviour suite (runner-suite.ts) against the namespace runner.
 */
import { NamespaceRunner } from '../../../runners/namespaces.js';
import { canRunPrivileged } from '../../helpers/host.js';
import { describeRunnerBehaviour } from './runner-suite.js';

describeRunnerBehaviour(
  { name: 'namespaces', make: ({ tmpRoot }) => new NamespaceRunner({ tmpRoot }) },
  await canRunPrivileged(),
);
