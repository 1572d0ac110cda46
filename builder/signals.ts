/**
 * STOPSIGNAL's check, as moby's `signal.ParseSignal` (which BuildKit's dispatchStopSignal calls):
 * a non-zero integer, or a Linux signal name, any case, with or without the `SIG` prefix. The
 * value is kept as written.
 */

/** moby's SignalMap for Linux, without the `SIG` prefix. */
const SIGNAL_NAMES = new Set([
  'ABRT',
  'ALRM',
  'BUS',
  'CHLD',
  'CLD',
  'CONT',
  'FPE',
  'HUP',
  'ILL',
  'INT',
  'IO',
  'IOT',
  'KILL',
  'PIPE',
  'POLL',
  'PROF',
  'PWR',
  'QUIT',
  'SEGV',
  'STKFLT',
  'STOP',
  'SYS',
  'TERM',
  'TRAP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'USR1',
  'USR2',
  'VTALRM',
  'WINCH',
  'XCPU',
  'XFSZ',
  'RTMIN',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${14 - i}`),
  'RTMAX',
]);

/** Go's strconv.Atoi: an optional sign and decimal digits, within int64. */
const GO_INT = /^[+-]?\d+$/;
const INT64_MAX = 2n ** 63n - 1n;

/** True when Docker accepts `raw` as a stop signal. */
export function isKnownSignal(raw: string): boolean {
  if (GO_INT.test(raw)) {
    const value = BigInt(raw);
    return value !== 0n && value <= INT64_MAX && value >= -INT64_MAX - 1n;
  }
  const upper = raw.toUpperCase();
  return SIGNAL_NAMES.has(upper.startsWith('SIG') ? upper.slice(3) : upper);
}
