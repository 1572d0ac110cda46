import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../core/errors.js';
import { decodeDockerfile } from '../../../../builder/parse/encoding.js';

function refusal(bytes: Buffer): DockerfileError {
  try {
    decodeDockerfile(bytes, 'Dockerfile');
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error('accepted');
}

describe('decodeDockerfile', () => {
  it('decodes UTF-8, a BOM and real replacement characters included', () => {
    const text = '\uFEFFFROM busybox\nLABEL note="héllo \uFFFD 🐳"\n';
    expect(decodeDockerfile(Buffer.from(text), 'Dockerfile')).toBe(text);
  });

  it('names the line and column of a NUL byte', () => {
    const error = refusal(Buffer.from('FROM busybox\nLABEL a=b\nRUN echo x\0y\n'));
    expect(error.message).toBe('Dockerfile:3: NUL byte at column 11: a Dockerfile is text');
    expect(error.location).toEqual({ file: 'Dockerfile', line: 3 });
    expect(error.code).toBe('DOCKERFILE_ENCODING');
  });

  it('suspects UTF-16 when the file starts with its byte order mark', () => {
    const utf16 = Buffer.from('\uFEFFFROM busybox\n', 'utf16le');
    expect(refusal(utf16).message).toBe(
      'Dockerfile:1: NUL byte at column 4: a Dockerfile is text (is it UTF-16? save it as UTF-8)',
    );
  });

  it('names the line and column of the first byte that is not UTF-8, after valid multibyte text', () => {
    const bytes = Buffer.concat([
      Buffer.from('FROM busybox\nLABEL ok="\uFFFD é"\nLABEL bad="caf'),
      Buffer.from([0xe9]),
      Buffer.from('"\n'),
    ]);
    expect(refusal(bytes).message).toBe(
      'Dockerfile:3: byte 0xe9 at column 15 is not UTF-8: save the Dockerfile as UTF-8',
    );
    // A sequence cut short at the end of the file.
    expect(refusal(Buffer.from([0x46, 0x52, 0x4f, 0x4d, 0x20, 0xf0, 0x9f])).message).toBe(
      'Dockerfile:1: byte 0xf0 at column 6 is not UTF-8: save the Dockerfile as UTF-8',
    );
  });
});
