/**
 * The typed Dockerfile instructions: what the parser hands to the planner.
 *
 * Values here are as written (after continuation joining and quote-aware splitting where Docker
 * splits), but NOT yet variable-expanded: expansion depends on ARG/ENV state, which is the
 * planner's job. Each instruction carries its source range so any later error can name the line.
 */

/** 1-based, inclusive line range of an instruction in its Dockerfile. */
export interface SourceRange {
  startLine: number;
  endLine: number;
}

/** A heredoc attached to an instruction (`RUN <<EOF`, `COPY <<A <<B /dst/`). */
export interface Heredoc {
  /** The delimiter word without quotes or `<<`/`<<-`. */
  name: string;
  /** File descriptor when written as `3<<EOF`; 0 otherwise. */
  fd: number;
  /** False when any part of the delimiter was quoted: the body is then taken literally. */
  expand: boolean;
  /** True for `<<-`: leading tabs are stripped from each body line. */
  chomp: boolean;
  /** The raw body lines, each with its newline (tabs not yet stripped). */
  content: string;
}

/** RUN / CMD / ENTRYPOINT arguments: exec form (JSON array) or one shell-form string. */
export interface CommandLine {
  /** True for the JSON (exec) form. */
  json: boolean;
  /** Exec form: the array elements. Shell form: exactly one element, the command text. */
  args: string[];
}

/** One `key=value` of ENV/LABEL, value still holding its quotes and escapes as written. */
export interface KeyValue {
  key: string;
  value: string;
  /** Old form `ENV key value`: the value is the rest of the line. */
  legacy?: boolean;
}

/** One name of an ARG instruction, with its default as written (undefined: no default). */
export interface ArgDecl {
  key: string;
  value?: string;
}

interface Base {
  /** Where the instruction is in the Dockerfile. */
  range: SourceRange;
  /** The instruction as written, continuation lines joined (used in history `created_by`). */
  original: string;
}

export interface FromInstruction extends Base {
  kind: 'from';
  image: string;
  /** `AS name`, lowercased as Docker does. */
  stageName?: string;
  platform?: string;
}

export interface RunInstruction extends Base {
  kind: 'run';
  command: CommandLine;
  /** Raw `--mount=` values, in order (parsed by the runner layer after expansion). */
  mounts: string[];
  network?: string;
  security?: string;
  heredocs: Heredoc[];
}

export interface CmdInstruction extends Base {
  kind: 'cmd';
  command: CommandLine;
}

export interface EntrypointInstruction extends Base {
  kind: 'entrypoint';
  command: CommandLine;
}

export interface ShellInstruction extends Base {
  kind: 'shell';
  shell: string[];
}

export interface LabelInstruction extends Base {
  kind: 'label';
  pairs: KeyValue[];
}

export interface MaintainerInstruction extends Base {
  kind: 'maintainer';
  maintainer: string;
}

export interface ExposeInstruction extends Base {
  kind: 'expose';
  ports: string[];
}

export interface EnvInstruction extends Base {
  kind: 'env';
  pairs: KeyValue[];
}

/** Shared by COPY and ADD. */
export interface FileInstructionBase extends Base {
  /** Source words as written (JSON form or whitespace-split). Heredoc sources appear as `<<NAME`. */
  sources: string[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** Exec (JSON) form was used. */
  json: boolean;
  heredocs: Heredoc[];
  /** `--exclude=` patterns (Dockerfile 1.7 labs, accepted where BuildKit accepts them). */
  excludes: string[];
}

export interface AddInstruction extends FileInstructionBase {
  kind: 'add';
  checksum?: string;
  keepGitDir?: boolean;
}

export interface CopyInstruction extends FileInstructionBase {
  kind: 'copy';
  from?: string;
  parents?: boolean;
}

export interface VolumeInstruction extends Base {
  kind: 'volume';
  paths: string[];
}

export interface UserInstruction extends Base {
  kind: 'user';
  user: string;
}

export interface WorkdirInstruction extends Base {
  kind: 'workdir';
  path: string;
}

export interface ArgInstruction extends Base {
  kind: 'arg';
  args: ArgDecl[];
}

export interface OnbuildInstruction extends Base {
  kind: 'onbuild';
  /** The trigger as written after ONBUILD (what goes into the image's OnBuild list). */
  expression: string;
  trigger: Instruction;
}

export interface StopsignalInstruction extends Base {
  kind: 'stopsignal';
  signal: string;
}

export interface HealthcheckInstruction extends Base {
  kind: 'healthcheck';
  /** `NONE` disables the base image's check; otherwise the CMD part. */
  test: { type: 'none' } | { type: 'cmd'; command: CommandLine };
  /** Durations in nanoseconds, as Docker stores them; undefined = not given. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction;

export type InstructionKind = Instruction['kind'];

/** The result of parsing one Dockerfile. */
export interface ParsedDockerfile {
  /** Instructions in source order (ARGs before the first FROM included). */
  instructions: Instruction[];
  /** `\` unless `# escape=`` ` `` was given. */
  escapeToken: '\\' | '`';
  /** Parser directives found in the leading comment block (`syntax`, `escape`, `check`). */
  directives: Record<string, string>;
  /** Non-fatal findings (e.g. empty continuation lines), with their line. */
  warnings: { line: number; message: string }[];
}
