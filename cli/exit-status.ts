/**
 * Ends a command with an exit status and nothing more to print: what it had to say (a check's
 * findings) is already on stdout, where a tool reads it, so no `error:` line follows.
 */
export class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
    this.name = 'ExitStatus';
  }
}
