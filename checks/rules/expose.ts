/** EXPOSE rules (BuildKit): ExposeProtoCasing (with a fix), ExposeInvalidFormat. */
import type { ExposeInstruction } from '../../builder/instructions.js';
import { wordEdit } from '../edits.js';
import type { Rule, RuleHit } from '../rule.js';
import type { CheckSubject, Entry } from '../subject.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** Every port word of every EXPOSE, as written. */
function exposedPorts(subject: CheckSubject): { entry: Entry<ExposeInstruction>; port: string }[] {
  return subject.entries.flatMap((entry) =>
    entry.instruction.kind === 'expose'
      ? entry.instruction.ports.map((port) => ({ entry: entry as Entry<ExposeInstruction>, port }))
      : [],
  );
}

/** `EXPOSE 53/UDP` → `53/udp`. */
export const exposeProtoCasing: Rule<{ entry: Entry; port: string }> = {
  name: 'ExposeProtoCasing',
  docs: docs('expose-proto-casing'),
  description: 'Protocol in EXPOSE instruction should be lowercase',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    exposedPorts(subject).flatMap(({ entry, port }): RuleHit<{ entry: Entry; port: string }>[] => {
      const protocol = port.split('/')[1];
      if (protocol === undefined || protocol === protocol.toLowerCase()) return [];
      return [
        {
          line: entry.instruction.range.startLine,
          endLine: entry.instruction.range.endLine,
          message: `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
          detail: { entry, port },
        },
      ];
    }),
  fix: ({ detail }, subject) => {
    if (detail === undefined) return undefined;
    const [number, protocol = ''] = detail.port.split('/');
    const edit = wordEdit(subject, detail.entry, detail.port, `${number}/${protocol.toLowerCase()}`);
    return edit && [edit];
  },
};

/** `EXPOSE 127.0.0.1:80:80`, `EXPOSE 8080:80`: publishing is `docker run -p`'s job. */
export const exposeInvalidFormat: Rule = {
  name: 'ExposeInvalidFormat',
  docs: docs('expose-invalid-format'),
  description:
    'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a ' +
    'future release',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) =>
    exposedPorts(subject)
      .filter(({ port }) => port.includes(':'))
      .map(({ entry, port }) => ({
        line: entry.instruction.range.startLine,
        endLine: entry.instruction.range.endLine,
        message: `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
      })),
};
