/**
 * Per-instruction argument splitting (BuildKit's "line parsers"): how the text after the keyword
 * and flags becomes the argument list of an AST node. No validation of counts or flags here.
 */
import { parseJsonArray, parseWords } from './words.js';
import { goQuote, isGoSpace, splitOnWhitespace, trimLeftGo, WHITESPACE_RUN } from './text.js';

/** What a line parser makes of an instruction's arguments. */
export interface ParsedArgs {
  args: string[];
  /** Exec (JSON array) form. */
  json: boolean;
  /** ONBUILD only: the trigger text, parsed into a nested node by the caller. */
  trigger?: string;
}

/** A problem in the arguments, reported with the instruction's line by the caller. */
export class ArgsError extends Error {}

type LineParser = (rest: string, escapeToken: string) => ParsedArgs;

const none: ParsedArgs = { args: [], json: false };

/** JSON array, or else the whole rest as one argument (RUN, CMD, ENTRYPOINT, SHELL). */
const maybeJson: LineParser = (rest) => {
  if (rest === '') return none;
  const array = jsonOrUndefined(rest);
  return array ? { args: array, json: true } : { args: [rest], json: false };
};

/** JSON array, or else whitespace-split words (ADD, COPY, VOLUME). */
const maybeJsonToList: LineParser = (rest) => {
  const array = jsonOrUndefined(rest);
  return array ? { args: array, json: true } : whitespaceDelimited(rest, '');
};

const whitespaceDelimited: LineParser = (rest) => (rest === '' ? none : { args: splitOnWhitespace(rest), json: false });

const wholeString: LineParser = (rest) => (rest === '' ? none : { args: [rest], json: false });

/** ARG: one argument per word, quotes kept. */
const nameOrNameValue: LineParser = (rest, escapeToken) => ({ args: parseWords(rest, escapeToken), json: false });

/**
 * ENV/LABEL: `key value sep` triples. New form `k=v ...` when the first word has an `=`; old
 * form `KEY rest of line` (separator empty) otherwise.
 */
function nameValue(keyword: string): LineParser {
  return (rest, escapeToken) => {
    const words = parseWords(rest, escapeToken);
    if (words.length === 0) return none;
    if (!(words[0] ?? '').includes('=')) {
      const split = WHITESPACE_RUN.exec(rest);
      if (!split) throw new ArgsError(`${keyword} must have two arguments`);
      return { args: [rest.slice(0, split.index), rest.slice(split.index + split[0].length), ''], json: false };
    }
    const args: string[] = [];
    for (const word of words) {
      const equals = word.indexOf('=');
      if (equals < 0) {
        throw new ArgsError(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
      }
      args.push(word.slice(0, equals), word.slice(equals + 1), '=');
    }
    return { args, json: false };
  };
}

/** HEALTHCHECK: the first word (CMD, NONE, …), then the rest parsed like CMD. */
const healthConfig: LineParser = (rest, escapeToken) => {
  const chars = Array.from(rest);
  const typeEnd = chars.findIndex(isGoSpace);
  const type = typeEnd < 0 ? rest : chars.slice(0, typeEnd).join('');
  if (type === '') return none;
  const command = maybeJson(typeEnd < 0 ? '' : trimLeftGo(chars.slice(typeEnd).join('')), escapeToken);
  return { args: [type, ...command.args], json: command.json };
};

const subCommand: LineParser = (rest) => (rest === '' ? none : { args: [], json: false, trigger: rest });

/** Unknown instructions keep one empty argument (what BuildKit's dump shows for them). */
const ignored: LineParser = () => ({ args: [''], json: false });

const LINE_PARSERS: Record<string, LineParser> = {
  add: maybeJsonToList,
  arg: nameOrNameValue,
  cmd: maybeJson,
  copy: maybeJsonToList,
  entrypoint: maybeJson,
  env: nameValue('ENV'),
  expose: whitespaceDelimited,
  from: whitespaceDelimited,
  healthcheck: healthConfig,
  label: nameValue('LABEL'),
  maintainer: wholeString,
  onbuild: subCommand,
  run: maybeJson,
  shell: maybeJson,
  stopsignal: wholeString,
  user: wholeString,
  volume: maybeJsonToList,
  workdir: wholeString,
};

/** Splits the arguments of `keyword` (any case); unknown keywords get one empty argument. */
export function parseArgs(keyword: string, rest: string, escapeToken: string): ParsedArgs {
  const parser = LINE_PARSERS[keyword.toLowerCase()] ?? ignored;
  return parser(rest, escapeToken);
}

function jsonOrUndefined(rest: string): string[] | undefined {
  try {
    return parseJsonArray(rest);
  } catch (error) {
    throw new ArgsError((error as Error).message);
  }
}
