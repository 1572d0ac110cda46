/**
 * Variable rules (BuildKit): UndefinedArgInFrom, InvalidDefaultArgInFrom, UndefinedVar,
 * SecretsUsedInArgOrEnv.
 */
import type { Instruction } from '../../builder/instructions.js';
import { predefinedArgs } from '../../builder/platform.js';
import { expandWord } from '../../builder/shell/index.js';
import { closest } from '../../builder/suggest.js';
import { parseReference } from '../../registry/reference.js';
import type { Rule, RuleHit } from '../rule.js';
import { stageScopes } from '../stage-scope.js';
import { globalArgValues, type CheckSubject, type Entry } from '../subject.js';

const docs = (slug: string) => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

/** The names `word` looks up that `names` does not hold (shell syntax errors: none; the planner reports those). */
function undefinedNames(word: string, names: ReadonlySet<string>, escapeToken: '\\' | '`'): string[] {
  const env = new Map([...names].map((name) => [name, '']));
  try {
    // `$1`, `$@` … are never set; they are no variable anyone declares.
    return [...expandWord(word, env, { escapeToken }).unmatched].filter((name) => /^[A-Za-z_]/.test(name));
  } catch {
    return [];
  }
}

/** ` (did you mean $X?)` style suffix, as BuildKit words it. */
function suggestion(name: string, candidates: Iterable<string>, prefix: string): string {
  const near = closest(name, candidates);
  return near === undefined ? '' : ` (did you mean ${prefix}${near}?)`;
}

/** FROM (and its --platform) may use only global ARGs and the platform ARGs. */
export const undefinedArgInFrom: Rule = {
  name: 'UndefinedArgInFrom',
  docs: docs('undefined-arg-in-from'),
  description: 'FROM command must use declared ARGs',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const declared = new Set([
      ...Object.keys(predefinedArgs(subject.platform)),
      ...subject.metaArgs.flatMap(({ instruction }) => instruction.args.map((decl) => decl.key)),
    ]);
    const metaNames = subject.metaArgs.flatMap(({ instruction }) => instruction.args.map((decl) => decl.key));
    return subject.stages.flatMap(({ from }) => {
      const words = [
        from.instruction.image,
        ...(from.instruction.platform === undefined ? [] : [from.instruction.platform]),
      ];
      const missing = [...new Set(words.flatMap((word) => undefinedNames(word, declared, subject.escapeToken)))];
      return missing.map((name) => ({
        line: from.instruction.range.startLine,
        message: `FROM argument '${name}' is not declared${suggestion(name, metaNames, '')}`,
      }));
    });
  },
};

/** A FROM that uses ARGs must name an image with the ARGs' defaults alone (no --build-arg). */
export const invalidDefaultArgInFrom: Rule = {
  name: 'InvalidDefaultArgInFrom',
  docs: docs('invalid-default-arg-in-from'),
  description: 'Default value for global ARG results in an empty or invalid base image name',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const defaults = globalArgValues(subject.metaArgs, undefined, subject.platform, subject.escapeToken);
    return subject.stages.flatMap(({ from }) => {
      const written = from.instruction.image;
      if (!written.includes('$')) return [];
      let image: string;
      try {
        image = expandWord(written, defaults, { escapeToken: subject.escapeToken }).value;
      } catch {
        return [];
      }
      if (image !== '' && isImageName(image)) return [];
      return [
        {
          line: from.instruction.range.startLine,
          message: `Default value for ARG ${written} results in empty or invalid base image name`,
        },
      ];
    });
  },
};

function isImageName(image: string): boolean {
  if (image.startsWith('oci-layout://')) return true;
  try {
    parseReference(image);
    return true;
  } catch {
    return false;
  }
}

/** The words BuildKit expands in each instruction (RUN, CMD … are left to the shell; FROM has its own rule). */
function expandedWords(instruction: Instruction): string[] {
  switch (instruction.kind) {
    case 'env':
    case 'label':
      return instruction.pairs.flatMap((pair) => [pair.key, pair.value]);
    case 'add':
    case 'copy': {
      const sources = instruction.sources.filter((source) => !source.startsWith('<<'));
      return [...sources, instruction.dest, instruction.chown ?? '', instruction.chmod ?? ''];
    }
    case 'workdir':
      return [instruction.path];
    case 'expose':
      return instruction.ports;
    case 'volume':
      return instruction.paths;
    case 'user':
      return [instruction.user];
    case 'stopsignal':
      return [instruction.signal];
    case 'arg':
      return instruction.args.flatMap((decl) => (decl.value === undefined ? [] : [decl.value]));
    default:
      return [];
  }
}

/**
 * A variable no ENV, ARG or base image defines before it is used. Stages whose base image the
 * store does not hold are skipped: its environment could define anything.
 */
export const undefinedVar: Rule = {
  name: 'UndefinedVar',
  docs: docs('undefined-var'),
  description: 'Variables should be defined before their use',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject) => {
    const scopes = stageScopes(subject);
    return subject.stages.flatMap((stage) =>
      stage.steps.flatMap(({ instruction }, index) => {
        const scope = scopes[stage.index]?.before[index];
        if (scope?.env === undefined) return [];
        const names = new Set([...scope.env, ...scope.args]);
        const missing = new Set(
          expandedWords(instruction).flatMap((word) => undefinedNames(word, names, subject.escapeToken)),
        );
        return [...missing].map((name) => ({
          line: instruction.range.startLine,
          endLine: instruction.range.endLine,
          message: `Usage of undefined variable '$${name}'${suggestion(name, names, '$')}`,
        }));
      }),
    );
  },
};

/** BuildKit's words for secrets in a variable name (between underscores or the name's ends). */
const secretName = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
/** …unless the name says the value is public. */
const publicName = /(?:_|^)(?:public)(?:_|$)/i;

/** ARG and ENV end up in the image's history and config: secrets belong in `RUN --mount=type=secret`. */
export const secretsUsedInArgOrEnv: Rule = {
  name: 'SecretsUsedInArgOrEnv',
  docs: docs('secrets-used-in-arg-or-env'),
  description: 'Sensitive data should not be used in the ARG or ENV commands',
  severity: 'warning',
  origin: 'buildkit',
  check: (subject: CheckSubject) =>
    subject.entries.flatMap(({ instruction }: Entry): RuleHit[] => {
      const keys =
        instruction.kind === 'arg'
          ? instruction.args.map((decl) => decl.key)
          : instruction.kind === 'env'
            ? instruction.pairs.map((pair) => pair.key)
            : [];
      return keys
        .filter((key) => secretName.test(key) && !publicName.test(key))
        .map((key) => ({
          line: instruction.range.startLine,
          endLine: instruction.range.endLine,
          message:
            'Do not use ARG or ENV instructions for sensitive data ' +
            `(${instruction.kind.toUpperCase()} ${JSON.stringify(key)})`,
        }));
    }),
};
