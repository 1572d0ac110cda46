/**
 * Builds the progress sink a build gets: the display for the mode, plus per-step log files
 * (plain and TUI) and the `--metadata-file` writer, fanned out from one event stream.
 */
import path from 'node:path';
import type { ProgressSink } from '../../core/ports.js';
import { storeLayout } from '../../store/layout.js';
import { JsonSink } from './json.js';
import { MetadataSink } from './metadata.js';
import type { ProgressMode } from './mode.js';
import { PlainSink } from './plain.js';
import { QuietSink, TeeSink } from './sinks.js';
import { newBuildLogDir, StepLogs } from './step-logs.js';
import { TtySink } from './tty-sink.js';

export interface SinkOptions {
  mode: ProgressMode;
  /** The store root: step logs go under its `tmp/logs/<build>/`. */
  storeRoot: string;
  metadataFile?: string;
  /** Where the display goes (a terminal for `tty`). */
  stderr: NodeJS.WriteStream;
  /** Where JSON lines go. */
  stdout: NodeJS.WritableStream;
}

export function createProgressSink(options: SinkOptions): ProgressSink {
  const logs =
    options.mode === 'plain' || options.mode === 'tty'
      ? new StepLogs(newBuildLogDir(path.join(storeLayout(options.storeRoot).tmp, 'logs')))
      : undefined;
  const display = displaySink(options, logs);
  const extras = [logs, options.metadataFile === undefined ? undefined : new MetadataSink(options.metadataFile)].filter(
    (sink) => sink !== undefined,
  );
  // Logs go first, so a failed step's log path exists when the display prints it.
  return extras.length === 0
    ? display
    : new TeeSink([...(logs ? [logs] : []), display, ...extras.filter((sink) => sink !== logs)]);
}

function displaySink(options: SinkOptions, logs: StepLogs | undefined): ProgressSink {
  switch (options.mode) {
    case 'quiet':
      return new QuietSink();
    case 'json':
      return new JsonSink((line) => options.stdout.write(line));
    case 'tty':
      return new TtySink({
        stream: options.stderr,
        ...(logs ? { logs } : {}),
        fallback: (write) => new PlainSink(write, logs),
      });
    case 'plain':
      return new PlainSink((text) => options.stderr.write(text), logs);
  }
}
