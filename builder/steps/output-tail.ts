/** Splits a process's output chunks into lines, reports each, and keeps the last few for errors. */

type Stream = 'stdout' | 'stderr';

export class OutputTail {
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' };
  private readonly kept: string[] = [];

  constructor(
    private readonly onLine: (stream: Stream, line: string) => void,
    private readonly keep = 20,
  ) {}

  push(stream: Stream, chunk: Buffer): void {
    const text = this.partial[stream] + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.add(stream, line.replace(/\r$/, ''));
  }

  /** Reports what is left after the last newline. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.add(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
  }

  lines(): string[] {
    return [...this.kept];
  }

  private add(stream: Stream, line: string): void {
    this.onLine(stream, line);
    this.kept.push(line);
    if (this.kept.length > this.keep) this.kept.shift();
  }
}
