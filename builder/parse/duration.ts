/** Go's `time.ParseDuration`, which HEALTHCHECK durations go through in Docker. */

const UNIT_NANOS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const PART = /^(\d*)(?:\.(\d*))?([^\d.]*)/u;

/** Parses `1m30s`, `1.5h`, `-2ms`, `0` into nanoseconds; throws Go's message when invalid. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  const sign = rest.startsWith('-') ? -1 : 1;
  if (rest.startsWith('-') || rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const [whole = '', integer = '', fraction, unit = ''] = PART.exec(rest) ?? [];
    if (integer === '' && (fraction ?? '') === '') throw new Error(`time: invalid duration ${quoted}`);
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    total += Number(integer || '0') * scale + Number(`0.${fraction ?? ''}`) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * Math.round(total);
}
