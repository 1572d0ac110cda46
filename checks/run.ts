/**
 * Running checks: the Dockerfile and the build's inputs → a {@link CheckReport}. Reads the
 * subject, applies the check settings (check-config.ts), runs each enabled rule, and tries the
 * planner so an error the build would stop with is reported too. Synchronous and side-effect
 * free: whatever needs a file or the store was gathered before (gather.ts).
 */
import { UserError, type DockerfileError } from '../core/errors.js';
import { planParsed } from '../builder/plan-dockerfile.js';
import { checkConfig, ruleEnabled, type CheckConfig } from './check-config.js';
import type { CheckReport, Finding, Rule, RuleHit } from './rule.js';
import { readSubject, type CheckInputs, type CheckSubject } from './subject.js';

/** What to run beyond the inputs. */
export interface CheckOptions {
  rules: readonly Rule[];
  /** `--check-skip` rule names. */
  skip?: readonly string[];
  /** Also report the error the planner would stop the build with (default: yes). */
  plan?: boolean;
}

/** Checks a Dockerfile; never throws for a problem in it (that becomes the report's `error`). */
export function checkDockerfile(inputs: CheckInputs, options: CheckOptions): CheckReport {
  const file = inputs.dockerfile.name;
  let subject: CheckSubject;
  let config: CheckConfig;
  try {
    subject = readSubject(inputs);
    config = checkConfig(subject.directives, subject.buildArgs, file, options.skip);
  } catch (error) {
    return { file, findings: [], error: errorOf(error), rules: [] };
  }
  const rules = options.rules.filter((rule) => ruleEnabled(config, rule));
  const findings = runRules(subject, rules, config);
  const error = options.plan === false ? undefined : planError(subject, inputs);
  return { file, findings, ...(error === undefined ? {} : { error }), rules };
}

/** Every hit of `rules` as findings, in line order (rules in table order within a line). */
export function runRules(subject: CheckSubject, rules: readonly Rule[], config: CheckConfig): Finding[] {
  const findings = rules.flatMap((rule) => rule.check(subject).map((hit) => findingOf(subject, rule, hit, config)));
  const order = new Map(rules.map((rule, index) => [rule.name, index]));
  return findings.sort((a, b) => a.line - b.line || (order.get(a.rule) ?? 0) - (order.get(b.rule) ?? 0));
}

function findingOf(subject: CheckSubject, rule: Rule, hit: RuleHit, config: CheckConfig): Finding {
  // error=true makes warnings errors; advice stays advice.
  const severity = config.error && rule.severity === 'warning' ? 'error' : rule.severity;
  const fix = rule.fix?.(hit, subject);
  return {
    rule: rule.name,
    docs: rule.docs,
    severity,
    file: subject.file,
    line: hit.line,
    endLine: hit.endLine ?? hit.line,
    message: hit.message,
    ...(fix === undefined || fix.length === 0 ? {} : { fix }),
  };
}

/** The planner's verdict (stages, references, target) as the build would give it. */
function planError(subject: CheckSubject, inputs: CheckInputs): CheckReport['error'] {
  try {
    planParsed(subject.parsed, {
      dockerfile: inputs.dockerfile,
      buildArgs: new Map(inputs.buildArgs ?? []),
      ...(inputs.target === undefined ? {} : { target: inputs.target }),
    });
    return undefined;
  } catch (error) {
    return errorOf(error);
  }
}

function errorOf(error: unknown): NonNullable<CheckReport['error']> {
  if (!(error instanceof UserError)) throw error;
  const located = error as DockerfileError;
  const location = located.location;
  return {
    message: 'detail' in located && typeof located.detail === 'string' ? located.detail : error.message,
    ...(location === undefined ? {} : { line: location.line, endLine: location.endLine ?? location.line }),
  };
}

/** The check fails (exit 1) when it found an error, or the Dockerfile would not build. */
export function reportFails(report: CheckReport): boolean {
  return report.error !== undefined || report.findings.some((finding) => finding.severity === 'error');
}
