import { describe, expect, it } from 'vitest';
import { explainMiss, explainFormat } from '../../../cache/keys.js';
import { describeStep, shownByInstruction, type StepInputs } from '../../../builder/step-inputs.js';

const run = (inputs: StepInputs) => describeStep({ instruction: 'RUN <<EOF', inputs });

describe('describeStep', () => {
  it('puts every input in the key and, by default, under its own name in the explanation', () => {
    const { op, explain } = run({
      kind: shownByInstruction('run'),
      platform: { key: 'linux/amd64' },
      user: { key: 'app', explain: { user: 'app' } },
    });
    expect(op).toEqual({ kind: 'run', platform: 'linux/amd64', user: 'app' });
    expect(Object.keys(explain).sort()).toEqual(['instruction', 'platform', 'user']);
    expect(explain.platform).toMatch(/^[0-9a-f]{16}$/);
  });

  it('leaves absent inputs out of both, and keeps undefined keys out of the key', () => {
    const { op, explain } = run({ script: undefined, chown: { key: undefined, explain: { chown: '' } } });
    expect(JSON.stringify(op)).toBe('{}');
    expect(explain).toEqual({ instruction: 'RUN <<EOF', chown: '' });
  });

  it('names what changed in an input the instruction text does not show', () => {
    const before = {
      ...run({ script: { key: ['EOF', 'a'] }, platform: { key: 'linux/amd64' } }).explain,
      format: explainFormat,
    };
    const script = {
      ...run({ script: { key: ['EOF', 'b'] }, platform: { key: 'linux/amd64' } }).explain,
      format: explainFormat,
    };
    const platform = {
      ...run({ script: { key: ['EOF', 'a'] }, platform: { key: 'linux/arm64' } }).explain,
      format: explainFormat,
    };
    expect(explainMiss(before, script)).toBe('changed: the heredoc script');
    expect(explainMiss(before, platform)).toBe('changed: the platform');
  });
});
