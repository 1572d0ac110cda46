/**
 * `--fix` changes exactly what the findings name and nothing else: comments, continuation lines,
 * heredoc bodies (even ones that look like instructions), CRLF line endings and a byte order mark
 * stay as they were.
 */
import { describe, expect, it } from 'vitest';
import { allRules } from '../../../checks/rule-table.js';
import { applyFixes, fixText } from '../../../checks/fix.js';
import { checkDockerfile } from '../../../checks/run.js';
import { unifiedDiff } from '../../../checks/diff.js';

function fix(text: string) {
  return fixText(
    text,
    (current) => checkDockerfile({ dockerfile: { text: current, name: 'Dockerfile' } }, { rules: allRules }).findings,
  );
}

const before = [
  '# syntax=docker/dockerfile:1',
  '# A comment that mentions MAINTAINER nobody and ENV A b stays as it is.',
  'from scratch as Build',
  'maintainer Jane <jane@example.com>',
  'env PATH /usr/local/bin:/usr/bin',
  'copy <<EOF /etc/motd',
  'MAINTAINER inside a heredoc body',
  'EXPOSE 80/TCP is only text here',
  'EOF',
  'expose 80/TCP \\',
  '    # 53/UDP in a comment line is no port',
  '    53/UDP',
  'run <<-SCRIPT',
  '\tenv A b',
  '\tSCRIPT',
  'cmd /app --serve',
  '',
].join('\n');

const after = [
  '# syntax=docker/dockerfile:1',
  '# A comment that mentions MAINTAINER nobody and ENV A b stays as it is.',
  'from scratch as build',
  'label org.opencontainers.image.authors="Jane <jane@example.com>"',
  'env PATH=/usr/local/bin:/usr/bin',
  'copy <<EOF /etc/motd',
  'MAINTAINER inside a heredoc body',
  'EXPOSE 80/TCP is only text here',
  'EOF',
  'expose 80/tcp \\',
  '    # 53/UDP in a comment line is no port',
  '    53/udp',
  'run <<-SCRIPT',
  '\tenv A b',
  '\tSCRIPT',
  'cmd ["/app", "--serve"]',
  '',
].join('\n');

describe('--fix', () => {
  it('rewrites only what findings name: comments, continuations and heredocs stay byte for byte', () => {
    const result = fix(before);
    expect(result.text).toBe(after);
    expect(result.fixed.map((finding) => finding.rule).sort()).toEqual([
      'ExposeProtoCasing',
      'ExposeProtoCasing',
      'JSONArgsRecommended',
      'LegacyKeyValueFormat',
      'MaintainerDeprecated',
      'StageNameCasing',
    ]);
  });

  it('keeps CRLF line endings and a byte order mark', () => {
    const crlf = `\ufeff${before.replaceAll('\n', '\r\n')}`;
    expect(fix(crlf).text).toBe(`\ufeff${after.replaceAll('\n', '\r\n')}`);
  });

  it('fixes in the case the file uses, with the backtick escape too', () => {
    const windows = '# escape=`\nFROM scratch\nMAINTAINER "Team" `$x\nENV A b\n';
    expect(fix(windows).text).toBe(
      '# escape=`\nFROM scratch\nLABEL org.opencontainers.image.authors="`"Team`" ```$x"\nENV A=b\n',
    );
  });

  it('applies the first of two overlapping fixes and leaves the other for the next round', () => {
    const finding = (start: number, end: number, text: string) => ({
      rule: 'R',
      docs: '',
      severity: 'warning' as const,
      file: 'f',
      line: 1,
      endLine: 1,
      message: '',
      fix: [{ start, end, text }],
    });
    const round = applyFixes('abcdef', [finding(0, 3, 'X'), finding(2, 4, 'Y'), finding(4, 6, 'Z')]);
    expect(round.text).toBe('XdZ');
    expect(round.applied).toHaveLength(2);
  });
});

describe('--diff', () => {
  it('shows the fixes as a unified diff with context', () => {
    const diff = unifiedDiff('Dockerfile', before, after);
    expect(diff.split('\n').slice(0, 6)).toEqual([
      '--- a/Dockerfile',
      '+++ b/Dockerfile',
      '@@ -1,16 +1,16 @@',
      ' # syntax=docker/dockerfile:1',
      ' # A comment that mentions MAINTAINER nobody and ENV A b stays as it is.',
      '-from scratch as Build',
    ]);
    expect(diff).toContain(
      '-maintainer Jane <jane@example.com>\n-env PATH /usr/local/bin:/usr/bin\n+from scratch as build\n',
    );
    expect(diff).toContain(
      ' run <<-SCRIPT\n \tenv A b\n \t\tSCRIPT\n-cmd /app --serve\n+cmd ["/app", "--serve"]\n'.replace('\t\t', '\t'),
    );
    // Changes further apart than the context make separate hunks.
    const far = `${'FROM scratch\n'}${'LABEL a=b\n'.repeat(10)}CMD x y\n`;
    expect(
      unifiedDiff('D', far, far.replace('FROM scratch', 'from scratch').replace('CMD x y', 'CMD ["x", "y"]')),
    ).toMatch(/@@ -1,4 \+1,4 @@[\s\S]*@@ -9,4 \+9,4 @@/);
    expect(unifiedDiff('Dockerfile', before, before)).toBe('');
  });
});
