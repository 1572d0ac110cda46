/**
 * The parity corpus: one directory per case under `corpus/`, named `NN-name`, holding a
 * Dockerfile (its `# covers:` line says what it exercises) and its context. Build options are
 * comment lines `# parity: build-arg K=V`, `# parity: target NAME` and `# parity: secret
 * id=ID,src=FILE` (FILE relative to the case); `{{server}}` in a build arg is the URL of the
 * case's `served/` directory on the test's HTTP server. A case may hold a
 * `Dockerfile.docker`: the same build written for docker 20.10's built-in frontend, used when
 * that frontend refuses the syntax (see known-differences.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const corpusDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

export interface ParityCase {
  name: string;
  dir: string;
  /** What the case covers (its `# covers:` line). */
  covers: string;
  buildArgs: string[];
  target?: string;
  /** `--secret` values, src made absolute. */
  secrets: string[];
  /** The Dockerfile docker builds when it is not the case's own (docker 20.10 lacks the syntax). */
  dockerFile?: string;
  /** The image name both sides tag the result with; later cases may build FROM it. */
  tag: string;
  /** docker's RUN network (default none: the private daemon has no bridge); tzbuild's RUN has the host's. */
  network?: 'host' | 'none';
}

export function loadCorpus(): ParityCase[] {
  return readdirSync(corpusDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((name) => readCase(name));
}

function readCase(name: string): ParityCase {
  const dir = path.join(corpusDir, name);
  const text = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  const covers = /^# covers: (.*)$/m.exec(text)?.[1];
  if (covers === undefined) throw new Error(`${name}/Dockerfile: no "# covers:" line`);
  const buildArgs: string[] = [];
  const secrets: string[] = [];
  let target: string | undefined;
  for (const match of text.matchAll(/^# parity: (\S+) (.*)$/gm)) {
    const [, option = '', value = ''] = match;
    if (option === 'build-arg') buildArgs.push(value);
    else if (option === 'target') target = value;
    else if (option === 'secret')
      secrets.push(
        value.replace(/(^|,)src=([^,]+)/, (_, lead: string, file: string) => `${lead}src=${path.join(dir, file)}`),
      );
    else throw new Error(`${name}/Dockerfile: unknown parity option "${option}"`);
  }
  const dockerFile = existsSync(path.join(dir, 'Dockerfile.docker')) ? 'Dockerfile.docker' : undefined;
  return {
    name,
    dir,
    covers,
    buildArgs,
    secrets,
    ...(target === undefined ? {} : { target }),
    ...(dockerFile === undefined ? {} : { dockerFile }),
    tag: `parity-${name}`,
  };
}

/** `--build-arg K=V … [--secret S …] [--target T]`: the same on both sides. `server` is the HTTP server's base URL. */
export function buildOptions(testCase: ParityCase, server: string): string[] {
  const served = `${server}/${testCase.name}/served`;
  return [
    ...testCase.buildArgs.flatMap((arg) => ['--build-arg', arg.replaceAll('{{server}}', served)]),
    ...testCase.secrets.flatMap((secret) => ['--secret', secret]),
    ...(testCase.target === undefined ? [] : ['--target', testCase.target]),
  ];
}
