/**
 * A Dockerfile's bytes as text. BuildKit reads whatever bytes it is given, so a NUL or a byte
 * that is not UTF-8 ends up in an image's config or a RUN's command line; tzbuild refuses them,
 * naming the line, before anything is parsed.
 */
import { isUtf8 } from 'node:buffer';
import { DockerfileError } from '../../core/errors.js';

const NEWLINE = 0x0a;

/** 1-based line and column of byte `offset`. */
function position(bytes: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = bytes.indexOf(NEWLINE); at >= 0 && at < offset; at = bytes.indexOf(NEWLINE, at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that does not decode as UTF-8 (`bytes` is known not to be UTF-8). */
function firstInvalidByte(bytes: Buffer): number {
  const decoded = new TextDecoder('utf-8').decode(bytes);
  // Everything before the first replacement character that was not in the file decoded cleanly.
  for (let index = decoded.indexOf('\uFFFD'); index >= 0; index = decoded.indexOf('\uFFFD', index + 1)) {
    const before = Buffer.byteLength(decoded.slice(0, index));
    if (bytes.subarray(before, before + 3).toString('hex') !== 'efbfbd') return before;
  }
  return 0;
}

/** The text of a Dockerfile read as `bytes`; refuses a NUL byte and bytes that are not UTF-8. */
export function decodeDockerfile(bytes: Buffer, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const { line, column } = position(bytes, nul);
    const utf16 = bytes[0] === 0xff || bytes[0] === 0xfe ? ' (is it UTF-16? save it as UTF-8)' : '';
    throw new DockerfileError(
      `NUL byte at column ${column}: a Dockerfile is text${utf16}`,
      file,
      line,
      undefined,
      'DOCKERFILE_ENCODING',
    );
  }
  if (!isUtf8(bytes)) {
    const offset = firstInvalidByte(bytes);
    const { line, column } = position(bytes, offset);
    const hex = bytes[offset]?.toString(16).padStart(2, '0');
    throw new DockerfileError(
      `byte 0x${hex} at column ${column} is not UTF-8: save the Dockerfile as UTF-8`,
      file,
      line,
      undefined,
      'DOCKERFILE_ENCODING',
    );
  }
  return bytes.toString('utf8');
}
