/**
 * When the step's command cannot be executed, runc refuses to start the container and says why on
 * stderr (`exec: "x": executable file not found in $PATH`, `… no such file or directory`,
 * `… permission denied`). Docker reports these as exit codes 127 and 126, as a shell would; this
 * maps a runtime's message to the same result and a message worded like the namespace runner's.
 */
import type { RunResult } from '../../core/ports.js';

/** The result and the one-line message for a command that could not be executed. */
export interface ExecFailure {
  result: RunResult;
  message: string;
}

/** Reads a runtime's startup error; undefined when it is not about executing the command. */
export function execFailureResult(runtimeMessage: string, command: string): ExecFailure | undefined {
  const text = runtimeMessage.toLowerCase();
  if (!/\bexec\b|executable|execvp?\b/.test(text)) return undefined;
  const notFound = text.includes('executable file not found') || text.includes('not found in $path');
  if (notFound || text.includes('no such file or directory')) {
    // A path is not looked up in $PATH, whatever the runtime's wording (crun says "not found in $PATH").
    return missing(command, command.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH');
  }
  if (text.includes('permission denied')) {
    return { result: { exitCode: 126 }, message: cannotRun(command, 'permission denied') };
  }
  return undefined;
}

function missing(command: string, why: string): ExecFailure {
  return { result: { exitCode: 127 }, message: cannotRun(command, why) };
}

function cannotRun(command: string, why: string): string {
  return `tzbuild: cannot run "${command}": ${why}`;
}
