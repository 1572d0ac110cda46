/**
 * The rule corpus (`test/helpers/fixtures/checks/<Rule>/`): for each rule, positive and negative
 * Dockerfiles written for this project, and `cases.json` giving, per file, the findings expected
 * (`[line, message]`), the inputs the check gets (build args, platform, ignore patterns, context
 * names, base image configs) and, for a rule with a fix, the file `--fix` must produce.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { IgnoreMatcher } from '../../builder/context/index.js';
import { parsePlatform } from '../../builder/platform.js';
import type { CheckInputs } from '../../checks/subject.js';
import type { ImageConfig } from '../../core/oci.js';
import { fixturesDir } from './paths.js';

/** Where the corpus lives. */
export const checkCasesDir = path.join(fixturesDir, 'checks');

/** One file of the corpus as cases.json describes it. */
export interface CheckCase {
  rule: string;
  file: string;
  text: string;
  expect: [number, string][];
  /** The `--fix` result, for rules with a fix. */
  fixed?: string;
  inputs: CheckInputs;
}

interface CaseSpec {
  expect: [number, string][];
  fixed?: string;
  buildArgs?: Record<string, string>;
  platform?: string;
  ignore?: string[];
  contextNames?: string[];
  baseImages?: Record<string, Partial<ImageConfig>>;
}

/** Every case of every rule folder. */
export function checkCases(): CheckCase[] {
  return readdirSync(checkCasesDir).flatMap((rule) => {
    const dir = path.join(checkCasesDir, rule);
    const specs = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as Record<string, CaseSpec>;
    return Object.entries(specs).map(([file, spec]) => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      return {
        rule,
        file,
        text,
        expect: spec.expect,
        ...(spec.fixed === undefined ? {} : { fixed: readFileSync(path.join(dir, spec.fixed), 'utf8') }),
        inputs: inputsOf(file, text, spec),
      };
    });
  });
}

function inputsOf(file: string, text: string, spec: CaseSpec): CheckInputs {
  const platform = spec.platform === undefined ? undefined : parsePlatform(spec.platform);
  return {
    dockerfile: { text, name: file },
    buildArgs: new Map(Object.entries(spec.buildArgs ?? {})),
    ...(platform === undefined ? {} : { platform }),
    ...(spec.ignore === undefined ? {} : { ignore: new IgnoreMatcher(spec.ignore) }),
    ...(spec.contextNames === undefined ? {} : { contextNames: spec.contextNames }),
    baseImages: new Map(Object.entries(spec.baseImages ?? {}).map(([name, config]) => [name, imageConfig(config)])),
  };
}

/** A full image config from the fields a case gives. */
export function imageConfig(partial: Partial<ImageConfig>): ImageConfig {
  return {
    os: 'linux',
    architecture: 'amd64',
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
    ...partial,
  };
}
