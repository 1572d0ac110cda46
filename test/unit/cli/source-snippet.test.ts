import { describe, expect, it } from 'vitest';
import { sourceSnippet } from '../../../cli/source-snippet.js';

const rule = ` ${'-'.repeat(20)}`;

describe('sourceSnippet', () => {
  it('marks the failing lines with two lines of context before and one after', () => {
    const text = ['FROM busybox', 'ENV A=1', 'RUN a \\', '  b', 'CMD x'].join('\n');
    expect(sourceSnippet({ text, name: 'Dockerfile' }, { file: 'Dockerfile', line: 3, endLine: 4 })).toBe(
      [
        rule,
        ' 1 |     FROM busybox',
        ' 2 |     ENV A=1',
        ' 3 | >>> RUN a \\',
        ' 4 | >>>   b',
        ' 5 |     CMD x',
        rule,
        '',
      ].join('\n'),
    );
  });

  it('shows the ends of a range of thousands of lines and how many it leaves out', () => {
    const text = [
      'FROM busybox',
      'RUN a \\',
      ...Array.from({ length: 5000 }, (_, i) => `  && b${i} \\`),
      '  && c',
      'CMD x',
    ];
    const snippet = sourceSnippet(
      { text: text.join('\n'), name: 'Dockerfile' },
      { file: 'Dockerfile', line: 2, endLine: 5003 },
    );
    expect(snippet.split('\n')).toEqual([
      rule,
      '    1 |     FROM busybox',
      '    2 | >>> RUN a \\',
      '    3 | >>>   && b0 \\',
      '    4 | >>>   && b1 \\',
      '      | >>> … 4996 more lines',
      ' 5001 | >>>   && b4998 \\',
      ' 5002 | >>>   && b4999 \\',
      ' 5003 | >>>   && c',
      ' 5004 |     CMD x',
      rule,
      '',
    ]);
  });

  it('cuts a very long line', () => {
    const text = `FROM busybox\nRUN echo ${'x'.repeat(70_000)}`;
    const snippet = sourceSnippet({ text, name: 'Dockerfile' }, { file: 'Dockerfile', line: 2 });
    expect(snippet).toContain(` 2 | >>> RUN echo ${'x'.repeat(151)}…\n`);
    expect(snippet.length).toBeLessThan(300);
  });

  it('is empty for another file or a line outside the text', () => {
    expect(sourceSnippet({ text: 'FROM x', name: 'Dockerfile' }, { file: 'other', line: 1 })).toBe('');
    expect(sourceSnippet({ text: 'FROM x', name: 'Dockerfile' }, { file: 'Dockerfile', line: 9 })).toBe('');
  });
});
