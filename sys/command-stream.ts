/**
 * A stream through a command-line tool (`zstd -dc`, `xz -dc`, `zstd -c`): `source` goes to its
 * stdin, its stdout comes out. execa loads only when such a tool runs (most builds never need
 * one); a tool that stops reading early is not an error by itself, its exit status decides.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** `source` through `command args`; `failure` turns what went wrong (a spawn or exit error) into the error thrown. */
export function throughCommand(
  command: string,
  args: readonly string[],
  source: Readable,
  failure: (error: unknown) => Error,
): Readable {
  async function* output(): AsyncGenerator<Buffer> {
    const { execa } = await import('execa');
    const child = execa(command, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false } });
    // EPIPE here just means the tool stopped reading; its exit status tells the real story.
    pipeline(source, child.stdin).catch(() => undefined);
    try {
      yield* child.stdout as AsyncIterable<Buffer>;
      await child;
    } catch (error) {
      throw failure(error);
    } finally {
      if (child.exitCode === null) child.kill();
    }
  }
  return Readable.from(output());
}
