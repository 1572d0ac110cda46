/**
 * Names for containers run without `--name`, in Docker's `adjective_scientist` shape. The lists
 * are our own; a name already taken gets a number, as Docker retries.
 */
import { randomInt } from 'node:crypto';

const adjectives = [
  'agile',
  'bold',
  'brave',
  'calm',
  'clever',
  'crisp',
  'eager',
  'fair',
  'fond',
  'gentle',
  'happy',
  'keen',
  'kind',
  'lively',
  'lucid',
  'merry',
  'nimble',
  'patient',
  'proud',
  'quiet',
  'rapid',
  'serene',
  'sharp',
  'steady',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'warm',
  'wise',
  'witty',
  'zealous',
];

const scientists = [
  'agnesi',
  'babbage',
  'bohr',
  'curie',
  'darwin',
  'euler',
  'faraday',
  'fermi',
  'franklin',
  'galileo',
  'gauss',
  'hamilton',
  'hopper',
  'hypatia',
  'kepler',
  'lamarr',
  'liskov',
  'lovelace',
  'maxwell',
  'meitner',
  'newton',
  'noether',
  'pascal',
  'planck',
  'ritchie',
  'shannon',
  'thompson',
  'turing',
  'volta',
  'wozniak',
  'yalow',
  'zuse',
];

function pick(list: readonly string[]): string {
  return list[randomInt(list.length)] as string;
}

/** A generated name not in `taken`. */
export function generateName(taken: ReadonlySet<string>): string {
  const base = `${pick(adjectives)}_${pick(scientists)}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}${n}`)) return `${base}${n}`;
}

/** Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export function validName(name: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name);
}
