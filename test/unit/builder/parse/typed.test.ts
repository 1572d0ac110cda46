import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../core/errors.js';
import type { Instruction, InstructionKind, ParsedDockerfile } from '../../../../builder/instructions.js';
import { parseDockerfile, parseGoDuration, parseOnbuildTrigger, toParseJson } from '../../../../builder/parse/index.js';
import { thrownBy } from './conformance.js';

/** The single instruction of `kind` in a small Dockerfile (after `FROM scratch`). */
function only<K extends InstructionKind>(kind: K, body: string): Extract<Instruction, { kind: K }> {
  const found = parseDockerfile(`FROM scratch\n${body}\n`).instructions.filter(
    (instruction) => instruction.kind === kind,
  );
  expect(found).toHaveLength(1);
  return found[0] as Extract<Instruction, { kind: K }>;
}

function errorOf(text: string): DockerfileError {
  const error = thrownBy(() => parseDockerfile(text, 'app/Dockerfile'));
  expect(error).toBeInstanceOf(DockerfileError);
  return error as DockerfileError;
}

describe('FROM', () => {
  it('reads image, platform and a lowercased stage name', () => {
    const from = parseDockerfile('FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n').instructions[0];
    expect(from).toMatchObject({ kind: 'from', image: 'golang:1.22', platform: '$BUILDPLATFORM', stageName: 'build' });
    expect(from?.range).toEqual({ startLine: 1, endLine: 1 });
  });

  it('accepts ARGs before the first FROM but nothing else', () => {
    const parsed = parseDockerfile('ARG VERSION=1\nARG FLAVOUR\nFROM alpine:${VERSION}\n');
    expect(parsed.instructions.map((instruction) => instruction.kind)).toEqual(['arg', 'arg', 'from']);
    expect(parsed.instructions[0]).toMatchObject({ args: [{ key: 'VERSION', value: '1' }] });
    expect(parsed.instructions[1]).toMatchObject({ args: [{ key: 'FLAVOUR' }] });
    expect(errorOf('RUN true\nFROM alpine\n').message).toBe('app/Dockerfile:1: no build stage in current context');
  });
});

describe('RUN, CMD, ENTRYPOINT, SHELL', () => {
  it('keeps shell form as one string and exec form as an array', () => {
    expect(only('run', 'RUN apt-get update && \\\n    apt-get install -y curl').command).toEqual({
      json: false,
      args: ['apt-get update &&     apt-get install -y curl'],
    });
    expect(only('cmd', 'CMD ["nginx", "-g", "daemon off;"]').command).toEqual({
      json: true,
      args: ['nginx', '-g', 'daemon off;'],
    });
    expect(only('entrypoint', "ENTRYPOINT ['single', 'quotes']").command).toEqual({
      json: false,
      args: ["['single', 'quotes']"],
    });
  });

  it('keeps raw mount, network and security values', () => {
    const run = only(
      'run',
      'RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npm --network=none --security=insecure make',
    );
    expect(run.mounts).toEqual(['type=cache,target=/root/.cache', 'type=secret,id=npm']);
    expect(run).toMatchObject({ network: 'none', security: 'insecure' });
    expect(errorOf('FROM a\nRUN --mount=from=$STAGE,target=/x ls\n').message).toContain(
      "'from' doesn't support variable expansion",
    );
  });

  it('attaches heredoc bodies with their modes', () => {
    const run = only('run', "RUN <<EOF 3<<-'DATA' cat\necho $HOME\nEOF\n\tliteral $x\n\tDATA");
    expect(run.heredocs).toEqual([
      { name: 'EOF', fd: 0, expand: true, chomp: false, content: 'echo $HOME\n' },
      { name: 'DATA', fd: 3, expand: false, chomp: true, content: '\tliteral $x\n' },
    ]);
    expect(run.command.args).toEqual(["<<EOF 3<<-'DATA' cat"]);
    expect(run.range).toEqual({ startLine: 2, endLine: 6 });
  });

  it('requires SHELL in JSON form', () => {
    expect(only('shell', 'SHELL ["powershell", "-command"]').shell).toEqual(['powershell', '-command']);
    expect(errorOf('FROM a\nSHELL /bin/bash -c\n').message).toBe(
      'app/Dockerfile:2: SHELL requires the arguments to be in JSON form',
    );
  });
});

describe('COPY and ADD', () => {
  it('reads every COPY flag', () => {
    const copy = only(
      'copy',
      'COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=tmp ./a ./b /dst/',
    );
    expect(copy).toMatchObject({
      from: 'build',
      chown: 'app:app',
      chmod: '0755',
      link: true,
      parents: true,
      excludes: ['*.md', 'tmp'],
      sources: ['./a', './b'],
      dest: '/dst/',
      json: false,
    });
  });

  it('reads ADD flags, JSON form and heredoc sources', () => {
    const add = only('add', 'ADD --checksum=sha256:abc --keep-git-dir --link=false ["https://x/a b.tgz", "/opt/"]');
    expect(add).toMatchObject({
      checksum: 'sha256:abc',
      keepGitDir: true,
      link: false,
      json: true,
      sources: ['https://x/a b.tgz'],
      dest: '/opt/',
    });
    const copy = only('copy', 'COPY <<one <<two /etc/\n1\none\n2\ntwo');
    expect(copy.sources).toEqual(['<<one', '<<two']);
    expect(copy.heredocs.map((heredoc) => [heredoc.name, heredoc.content])).toEqual([
      ['one', '1\n'],
      ['two', '2\n'],
    ]);
  });

  it('rejects a missing destination, unknown flags and bad bool values', () => {
    expect(errorOf('FROM a\nCOPY onlyone\n').message).toContain('COPY requires at least two arguments');
    expect(errorOf('FROM a\nCOPY --form=x a b\n').message).toBe(
      'app/Dockerfile:2: unknown flag: --form (did you mean from?)',
    );
    expect(errorOf('FROM a\nCOPY --link=maybe a b\n').message).toContain(
      'expecting boolean value for flag link, not: maybe',
    );
    expect(errorOf('FROM a\nCOPY --from=a --from=b a b\n').message).toContain('duplicate flag specified: from');
  });
});

describe('ENV, LABEL and the other metadata instructions', () => {
  it('keeps quotes in values and tells the legacy form apart', () => {
    expect(only('env', 'ENV A="x y" B=z\\ w').pairs).toEqual([
      { key: 'A', value: '"x y"' },
      { key: 'B', value: 'z\\ w' },
    ]);
    expect(only('env', 'ENV PATH /usr/local/bin:$PATH  extra').pairs).toEqual([
      { key: 'PATH', value: '/usr/local/bin:$PATH  extra', legacy: true },
    ]);
    expect(only('label', 'LABEL org.opencontainers.image.title="My app" version=1').pairs).toEqual([
      { key: 'org.opencontainers.image.title', value: '"My app"' },
      { key: 'version', value: '1' },
    ]);
    expect(errorOf('FROM a\nENV =x\n').message).toContain('ENV names can not be blank');
  });

  it('reads the one-value instructions', () => {
    const parsed = parseDockerfile(
      'FROM a\nMAINTAINER Jane <j@x>\nEXPOSE 80/tcp 443\nVOLUME ["/data", "/logs"]\nVOLUME /a /b\nUSER ' +
        'app:app\nWORKDIR /srv/app\nSTOPSIGNAL SIGQUIT\n',
    );
    expect(parsed.instructions.slice(1)).toMatchObject([
      { kind: 'maintainer', maintainer: 'Jane <j@x>' },
      { kind: 'expose', ports: ['80/tcp', '443'] },
      { kind: 'volume', paths: ['/data', '/logs'] },
      { kind: 'volume', paths: ['/a', '/b'] },
      { kind: 'user', user: 'app:app' },
      { kind: 'workdir', path: '/srv/app' },
      { kind: 'stopsignal', signal: 'SIGQUIT' },
    ]);
  });
});

describe('HEALTHCHECK', () => {
  it('parses every duration flag to nanoseconds', () => {
    const check = only(
      'healthcheck',
      'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD curl -f ' +
        'http://localhost/',
    );
    expect(check).toMatchObject({
      interval: 30e9,
      timeout: 90e9,
      startPeriod: 1.5e9,
      startInterval: 500e6,
      retries: 3,
      test: { type: 'cmd', command: { json: false, args: ['curl -f http://localhost/'] } },
    });
  });

  it('reads NONE and rejects bad values', () => {
    expect(only('healthcheck', 'HEALTHCHECK NONE').test).toEqual({ type: 'none' });
    expect(errorOf('FROM a\nHEALTHCHECK --interval=50ns CMD true\n').message).toContain(
      'Interval "interval" cannot be less than 1ms',
    );
    expect(errorOf('FROM a\nHEALTHCHECK --timeout=5 CMD true\n').message).toContain(
      'time: missing unit in duration "5"',
    );
    expect(errorOf('FROM a\nHEALTHCHECK --retries=-1 CMD true\n').message).toContain(
      '--retries cannot be negative (-1)',
    );
    expect(errorOf('FROM a\nHEALTHCHECK CMD\n').message).toContain('Missing command after HEALTHCHECK CMD');
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('1h2m3.5s')).toBe(3723.5e9);
    expect(parseGoDuration('-2us')).toBe(-2000);
    expect(parseGoDuration('0')).toBe(0);
    expect(() => parseGoDuration('3 s')).toThrow('unknown unit " s" in duration "3 s"');
    expect(() => parseGoDuration('')).toThrow('invalid duration');
  });
});

describe('ONBUILD', () => {
  it('parses the trigger and keeps the expression', () => {
    const onbuild = only('onbuild', 'ONBUILD COPY --chown=app . /src');
    expect(onbuild.expression).toBe('COPY --chown=app . /src');
    expect(onbuild.trigger).toMatchObject({
      kind: 'copy',
      chown: 'app',
      sources: ['.'],
      dest: '/src',
      range: onbuild.range,
    });
  });

  it('gives a trigger its heredocs and appends them to the expression', () => {
    const onbuild = only('onbuild', 'ONBUILD RUN <<EOF\necho hi\nEOF');
    expect(onbuild.trigger).toMatchObject({ kind: 'run', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] });
    expect(onbuild.expression).toBe('RUN <<EOF\necho hi\nEOF');
  });

  it('refuses ONBUILD, FROM and MAINTAINER triggers', () => {
    expect(errorOf('FROM a\nonbuild onbuild run x\n').message).toContain('Chaining ONBUILD via `ONBUILD ONBUILD`');
    expect(errorOf('FROM a\nONBUILD from b\n').message).toContain("FROM isn't allowed as an ONBUILD trigger");
  });
});

describe('file-level syntax', () => {
  it('honours the backtick escape, directives, CRLF and a BOM', () => {
    const parsed = parseDockerfile(
      '\ufeff# syntax=docker/dockerfile:1\r\n# escape=`\r\nFROM mcr.microsoft.com/windows\r\nRUN dir `\r\n  C:\\\r\n',
    );
    expect(parsed.escapeToken).toBe('`');
    expect(parsed.directives).toEqual({ syntax: 'docker/dockerfile:1', escape: '`' });
    expect(parsed.instructions[1]).toMatchObject({
      kind: 'run',
      command: { args: ['dir   C:\\'] },
      range: { startLine: 4, endLine: 5 },
    });
  });

  it('suggests instruction names in the case they were written', () => {
    expect(errorOf('FROM a\nFNTRYPOINT ["x"]\n').message).toBe(
      'app/Dockerfile:2: unknown instruction: FNTRYPOINT (did you mean ENTRYPOINT?)',
    );
    expect(errorOf('from a\nrnu x\n').message).toContain('unknown instruction: rnu (did you mean run?)');
  });

  it('names the lines of a multi-line instruction in errors', () => {
    const error = errorOf('FROM a\nCOPY \\\n  --nope=1 \\\n  a b\n');
    expect([error.line, error.endLine]).toEqual([2, 4]);
  });

  it('reports warnings for empty continuation lines', () => {
    const parsed = parseDockerfile('FROM a\nRUN a \\\n\n  b\n');
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatchObject({ line: 4 });
    expect(parsed.warnings[0]?.message).toContain('Empty continuation line found in: RUN a   b');
  });

  it('turns a parsed file into parse JSON, and refuses a foreign object', () => {
    const parsed = parseDockerfile('FROM a AS b\nONBUILD RUN echo hi\n');
    expect(toParseJson(parsed)).toEqual([
      { keyword: 'FROM', flags: [], args: ['a', 'AS', 'b'], json: false, start_line: 1, end_line: 1 },
      {
        keyword: 'ONBUILD',
        flags: [],
        args: [],
        json: false,
        start_line: 2,
        end_line: 2,
        onbuild_trigger: { keyword: 'RUN', flags: [], args: ['echo hi'], json: false, start_line: 0, end_line: 0 },
      },
    ]);
    const foreign: ParsedDockerfile = { ...parsed };
    expect(() => toParseJson(foreign)).toThrow('not made by parseDockerfile');
  });
});

describe('parseOnbuildTrigger', () => {
  it('parses a stored trigger without a FROM, heredocs included', () => {
    expect(parseOnbuildTrigger('COPY . /app/', 'base')).toMatchObject({ kind: 'copy', sources: ['.'], dest: '/app/' });
    const run = parseOnbuildTrigger('RUN <<EOF\necho hi\nEOF', 'base');
    expect(run).toMatchObject({ kind: 'run', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] });
  });

  it('refuses what Docker refuses as a trigger', () => {
    expect(() => parseOnbuildTrigger('FROM alpine', 'base')).toThrow("FROM isn't allowed as an ONBUILD trigger");
    expect(() => parseOnbuildTrigger('ONBUILD RUN x', 'base')).toThrow('Chaining ONBUILD');
    expect(() => parseOnbuildTrigger('RUN a\nRUN b', 'base')).toThrow('exactly one instruction');
  });
});
