/**
 * `tzbuild check [-f Dockerfile] [--build-arg …] [--target …] [CONTEXT]` (and `build --check`):
 * the build checks and the cache advice for the build these arguments describe, run nothing.
 * The store is only read (base image configs, the cache history): no lock, no network.
 * `--format text|json|sarif`; `--fix` rewrites the Dockerfile, `--diff` shows the rewrite.
 * Exits 1 when a finding is an error or the Dockerfile would not build.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { gatherInputs } from '../../checks/gather.js';
import { allRules } from '../../checks/rule-table.js';
import type { CheckReport } from '../../checks/rule.js';
import { checkDockerfile, reportFails } from '../../checks/run.js';
import type { CheckInputs } from '../../checks/subject.js';
import { keyValues, readDockerfile } from '../build-inputs.js';
import { checkText } from '../check-text.js';
import { checkSources } from '../check-sources.js';
import { storeRoot } from '../store-root.js';
import { ExitStatus } from '../exit-status.js';

/** The output formats. */
export const checkFormats = ['text', 'json', 'sarif'] as const;

export interface CheckFlags {
  file?: string;
  buildArg: string[];
  target?: string;
  /** `--check-skip` values (rule names, comma-separated lists allowed). */
  checkSkip: string[];
  format: (typeof checkFormats)[number];
  fix?: boolean;
  diff?: boolean;
  root?: string;
}

/** The version SARIF names as the tool's. */
const toolVersion = '0.1.0';

export async function checkCommand(contextArg: string, flags: CheckFlags): Promise<void> {
  if (flags.fix && flags.file === '-')
    throw new UserError('--fix cannot rewrite a Dockerfile read from stdin', 'USAGE');
  const contextDir = resolve(contextArg);
  const dockerfile = await readDockerfile(contextDir, flags.file);
  const inputs = await gatherInputs(
    {
      dockerfile,
      contextDir,
      buildArgs: keyValues(flags.buildArg, '--build-arg', true),
      ...(flags.target === undefined ? {} : { target: flags.target }),
      listContext: true,
    },
    checkSources(storeRoot(flags.root)),
  );
  const check = (text: string) =>
    checkDockerfile({ ...inputs, dockerfile: { ...dockerfile, text } }, { rules: allRules, skip: flags.checkSkip });
  if (flags.diff) {
    await printDiff(inputs, check);
    return;
  }
  const text = flags.fix ? await fix(inputs, check) : dockerfile.text;
  const report = check(text);
  process.stdout.write(await formatted(report, { ...dockerfile, text }, flags.format));
  if (reportFails(report)) throw new ExitStatus(1);
}

/** `--diff`: the fixes as a unified diff on stdout; nothing is written. */
async function printDiff(inputs: CheckInputs, check: (text: string) => CheckReport): Promise<void> {
  const [{ fixText }, { unifiedDiff }] = await Promise.all([
    import('../../checks/fix.js'),
    import('../../checks/diff.js'),
  ]);
  const { text: before, name } = inputs.dockerfile;
  process.stdout.write(unifiedDiff(name, before, fixText(before, (text) => check(text).findings).text));
}

/** `--fix`: writes the fixed Dockerfile (when something changed), says how many fixes on stderr, returns the text. */
async function fix(inputs: CheckInputs, check: (text: string) => CheckReport): Promise<string> {
  const { fixText } = await import('../../checks/fix.js');
  const { text: before, name } = inputs.dockerfile;
  const { text: after, fixed } = fixText(before, (text) => check(text).findings);
  if (fixed.length > 0) {
    await writeFile(resolve(name), after);
    process.stderr.write(`fixed ${fixed.length} finding${fixed.length === 1 ? '' : 's'} in ${name}\n`);
  }
  return after;
}

async function formatted(
  report: CheckReport,
  dockerfile: { text: string; name: string },
  format: CheckFlags['format'],
): Promise<string> {
  if (format === 'text') return checkText(report, dockerfile);
  if (format === 'json') {
    const { jsonReport } = await import('../../checks/report/json.js');
    return `${JSON.stringify(jsonReport(report, dockerfile.text), null, 2)}\n`;
  }
  const { sarifLog } = await import('../../checks/report/sarif.js');
  return `${JSON.stringify(sarifLog(report, toolVersion), null, 2)}\n`;
}
