/**
 * Build errors the user must fix, end to end through the CLI: each is one line naming the file
 * and the line to change (`error: DIR/Dockerfile:N: message`), exits 1, prints no stack, and
 * leaves the store as it was (same tags, blobs and snapshots, nothing in flight, fsck clean).
 */
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, buildOk, loadedStore, writeContext, type ContextFile } from '../../helpers/build-fixture.js';
import { expectStoreUnchanged } from '../../helpers/store-state.js';
import { makeDeepTree, removeDeepTree } from '../../helpers/deep-tree.js';

let store: string;

beforeAll(async () => {
  store = await loadedStore();
  // The base image unpacked once (a snapshot any later step may add): what follows must add nothing.
  await buildOk(store, [await writeContext({ Dockerfile: 'FROM busybox\nRUN true\n' })]);
});

/** Builds `dockerfile` (plus `files`), expecting exit 1 and an untouched store; returns the `error:` line. */
async function refused(dockerfile: string | Buffer, files: Record<string, ContextFile> = {}): Promise<string> {
  const context = await writeContext({ Dockerfile: dockerfile, ...files });
  const result = await expectStoreUnchanged(store, () => build(store, [context]));
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stderr).not.toMatch(/internal error|^\s+at /m);
  const line = result.stderr.split('\n').find((text) => text.startsWith('error: '));
  expect(line, result.stderr).toBeDefined();
  return line!.replace(`${context}/`, '');
}

describe('COPY sources', () => {
  it('fails only when every wildcard source matches nothing, naming the COPY line', async () => {
    expect(await refused('FROM busybox\nENV A=1\nCOPY nothing-* none?.txt /d/\n', { 'a.txt': 'a' })).toBe(
      'error: Dockerfile:3: COPY failed: file not found in build context or excluded by .dockerignore: ' +
        'stat nothing-*: file does not exist',
    );
  });

  it('names the COPY line for a path missing in the --from stage', async () => {
    const dockerfile = 'FROM busybox AS tools\nENV T=1\nFROM busybox\nCOPY --from=tools /opt/missing /opt/\n';
    expect(await refused(dockerfile)).toBe(
      'error: Dockerfile:4: COPY failed: file not found: stat /opt/missing: file does not exist (in stage tools)',
    );
  });

  it('refuses a context file named like a whiteout, naming it and the COPY line', async () => {
    const files = { 'etc/.wh.passwd': 'x', 'etc/hosts.extra': 'y' };
    expect(await refused('FROM busybox\nCOPY etc/ /etc/\n', files)).toBe(
      'error: Dockerfile:2: etc/.wh.passwd: a file named ".wh.*" cannot go into a layer, where it would delete ' +
        '"/etc/passwd" instead; rename it or leave it out (.dockerignore)',
    );
    expect(await refused('FROM busybox\nCOPY a /srv/.wh..wh..opq\n', { a: 'a' })).toContain(
      'Dockerfile:2: a: a file named ".wh.*" cannot go into a layer',
    );
  });

  it('names the line of a --chown user or group the image does not have', async () => {
    expect(await refused('FROM busybox\nCOPY --chown=ghost a /a\n', { a: 'a' })).toBe(
      'error: Dockerfile:2: unable to find user ghost: no matching entries in passwd file',
    );
    expect(await refused('FROM busybox\nCOPY --chown=app:ghosts a /a\n', { a: 'a' })).toBe(
      'error: Dockerfile:2: unable to find group ghosts: no matching entries in group file',
    );
  });
});

describe('names the host cannot carry', () => {
  it('refuses a context file whose name is not UTF-8, naming its bytes', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nCOPY files/ /srv/\n', 'files/ok.txt': 'ok' });
    await writeFile(Buffer.concat([Buffer.from(`${context}/files/caf`), Buffer.from([0xe9])]), 'x');
    const result = await expectStoreUnchanged(store, () => build(store, [context]));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'Dockerfile:2: COPY failed: context entry "files/caf\\xe9" has a name that is not UTF-8, which tzbuild cannot ' +
        'put in a layer byte for byte; rename it or leave it out (.dockerignore)',
    );
  });

  it('refuses a context entry deeper than PATH_MAX, naming it (cut to one line)', async () => {
    const context = await writeContext({ Dockerfile: 'FROM busybox\nCOPY tree /tree/\n', 'tree/': '' });
    await makeDeepTree(`${context}/tree`);
    // The helpers' cleanup names paths in full: the tree goes by coreutils' rm, which walks by fds.
    const result = await expectStoreUnchanged(store, () => build(store, [context])).finally(() =>
      removeDeepTree(`${context}/tree`),
    );
    expect(result.exitCode).toBe(1);
    const error = result.stderr.split('\n').find((line) => line.startsWith('error: ')) ?? '';
    expect(error).toMatch(
      /Dockerfile:2: COPY failed: context entry "tree\/dddddddddd\/.*….*\/dddddddddd" is too deep: /,
    );
    expect(error).toMatch(/: its path is \d+ bytes, past the host's PATH_MAX of 4096$/);
    expect(error.length).toBeLessThan(400);
  });

  it('refuses a RUN that makes a name that is not UTF-8 or a tree past PATH_MAX, leaving no scratch', async () => {
    expect(await refused('FROM busybox\nRUN touch "/tmp/$(printf "caf\\351")"\n')).toBe(
      'error: Dockerfile:2: "tmp/caf\\xe9" has a name that is not UTF-8, which tzbuild cannot put in a layer ' +
        'byte for byte',
    );
    const deep =
      'i=0; mkdir /deep && cd /deep && while [ $i -lt 450 ]; do mkdir dddddddddd && cd dddddddddd; i=$((i+1)); done';
    expect(await refused(`FROM busybox\nRUN ${deep}\n`)).toMatch(
      /^error: Dockerfile:2: "deep\/dddddddddd\/.*….*dddddddddd" is too deep: its host path reaches PATH_MAX \(4096/,
    );
  });
});

describe('stage references', () => {
  it('names the COPY --from line of a stage that copies from itself', async () => {
    expect(await refused('FROM busybox AS self\nENV A=1\nCOPY --from=self /a /b\n')).toBe(
      'error: Dockerfile:3: circular dependency detected on stage: self (line 3 reads self)',
    );
  });

  it('names every line of a cycle of stages, starting at the first', async () => {
    const dockerfile = [
      'FROM busybox AS one',
      'COPY --from=three /a /a',
      'FROM busybox AS two',
      'COPY --from=one /a /a',
      'FROM busybox AS three',
      'RUN --mount=from=two,target=/two true',
    ].join('\n');
    expect(await refused(dockerfile)).toBe(
      'error: Dockerfile:2: circular dependency detected on stage: one (line 2 reads three, line 6 reads two, ' +
        'line 4 reads one)',
    );
  });

  it('plans thousands of chained stages without running out of stack', async () => {
    const stages = Array.from({ length: 5000 }, (_, i) => `FROM busybox AS s${i}\nCOPY --from=s${i + 1} /a /a`);
    expect(await refused(`${stages.join('\n')}\nFROM busybox AS s5000\nCOPY --from=s0 /a /a\n`)).toBe(
      'error: Dockerfile:2: circular dependency detected on stage: s0 (line 2 reads s1, line 4 reads s2, ' +
        'line 6 reads s3, line 8 reads s4, line 10 reads s5, … 4995 more, line 10002 reads s0)',
    );
  });
});

describe('what docker validates', () => {
  it('refuses a STOPSIGNAL that is no signal, before anything runs or once expanded', async () => {
    expect(await refused('FROM busybox\nRUN exit 1\nSTOPSIGNAL SIGFOO\n')).toBe(
      'error: Dockerfile:3: Invalid signal: SIGFOO',
    );
    expect(await refused('FROM busybox\nENV SIG=0\nSTOPSIGNAL $SIG\n')).toBe('error: Dockerfile:3: Invalid signal: 0');
  });

  it('refuses a Dockerfile holding a NUL byte, naming its line', async () => {
    expect(await refused(Buffer.from('FROM busybox\nLABEL a="x\0y"\n'))).toBe(
      'error: Dockerfile:2: NUL byte at column 11: a Dockerfile is text',
    );
  });

  it('refuses a Dockerfile that is not UTF-8, naming the line of the first bad byte', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('FROM busybox\nENV A=1\nLABEL maintainer="Jos'),
      Buffer.from([0xe9, 0x22]),
    ]);
    expect(await refused(latin1)).toBe(
      'error: Dockerfile:3: byte 0xe9 at column 22 is not UTF-8: save the Dockerfile as UTF-8',
    );
  });
});

describe('line numbers after long continuations', () => {
  // Comment lines inside the continuation count as lines too.
  const continued = (lines: number) =>
    [
      'FROM busybox',
      'LABEL first=1 \\',
      ...Array.from({ length: lines }, (_, i) => (i % 7 === 0 ? '# a comment inside' : `  label${i}=${i} \\`)),
      '  last=1',
    ].join('\n');

  it('names the line of a bad instruction after a continuation of thousands of lines', async () => {
    expect(await refused(`${continued(5000)}\nBOGUS x\n`)).toBe('error: Dockerfile:5004: unknown instruction: BOGUS');
  });

  it('keeps a failing RUN of thousands of lines to one line and a short snippet', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `  && echo ${i} \\`);
    const context = await writeContext({
      Dockerfile: ['FROM busybox', 'RUN false \\', ...lines, '  && true'].join('\n'),
    });
    const result = await expectStoreUnchanged(store, () => build(store, [context]));
    expect(result.exitCode).toBe(1);
    const error = result.stderr.slice(result.stderr.indexOf('error: '));
    expect(error).toMatch(
      /^error: \S+Dockerfile:2: process "\/bin\/sh -c false {3}&& echo 0 .{100,}…" did not complete/,
    );
    expect(error.split('\n')[0]!.length).toBeLessThan(400);
    expect(error).toContain('| >>> … 2996 more lines\n');
    expect(error.length).toBeLessThan(2000);
  });

  it('names the line of a COPY failing after it', async () => {
    expect(await refused(`${continued(3000)}\nCOPY missing /x\n`)).toMatch(
      /^error: Dockerfile:3004: COPY failed: file not found in build context/,
    );
  });
});
