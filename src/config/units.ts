/**
 * Sizes and Go-style durations: parsing and formatting.
 *
 * Sizes follow the NATS configuration parser that the reference also uses for `<size>`
 * command-line values: a plain integer, or an integer followed by a unit where `K/M/G/T/P/E`
 * are powers of 1000 and `KB/MB/GB/TB/PB/EB` (also `Ki`/`KiB`…) are powers of 1024.
 * Case-insensitive. Durations follow Go's `time.ParseDuration`.
 */

const SIZE_SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  p: 1e15,
  pb: 1024 ** 5,
  pi: 1024 ** 5,
  pib: 1024 ** 5,
  e: 1e18,
  eb: 1024 ** 6,
  ei: 1024 ** 6,
  eib: 1024 ** 6,
};

/** Multiplier of a size suffix (case-insensitive), or undefined if it is not one. */
export function sizeSuffixMultiplier(suffix: string): number | undefined {
  const m = SIZE_SUFFIXES[suffix.toLowerCase()];
  return m;
}

/** Parses `1024`, `1KB`, `10mb`, `1G`, `-1`. Throws an Error with a short reason on failure. */
export function parseSize(input: string): number {
  const s = input.trim();
  const m = /^([+-]?\d+)\s*([A-Za-z]*)$/.exec(s);
  if (!m) throw new Error(`invalid size "${input}"`);
  const mult = sizeSuffixMultiplier(m[2] ?? '');
  if (mult === undefined) throw new Error(`invalid size unit "${m[2]}" in "${input}"`);
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new Error(`size "${input}" is out of range`);
  return n;
}

/** Nanoseconds per Go duration unit. */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Go `time.ParseDuration`, returning milliseconds (fractional below 1ms).
 * Error messages are Go's: `time: invalid duration "x"`, `time: missing unit in duration "1"`,
 * `time: unknown unit "x" in duration "1x"`.
 */
export function parseGoDuration(input: string): number {
  let s = input;
  const quoted = JSON.stringify(input);
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${quoted}`);
  let totalNs = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s);
    const intPart = num?.[1] ?? '';
    const fracPart = num?.[2];
    if (!num || (intPart === '' && (fracPart === undefined || fracPart === ''))) {
      throw new Error(`time: invalid duration ${quoted}`);
    }
    s = s.slice(num[0].length);
    const unitMatch = /^[^\d.]+/.exec(s);
    if (!unitMatch) throw new Error(`time: missing unit in duration ${quoted}`);
    const unit = unitMatch[0];
    const mult = DURATION_UNITS[unit];
    if (mult === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    const value = Number(`${intPart === '' ? '0' : intPart}.${fracPart ?? ''}0`);
    totalNs += value * mult;
    if (totalNs > 9223372036854775807) throw new Error(`time: invalid duration ${quoted}`);
  }
  const ms = Math.round(totalNs) / 1e6;
  return neg ? -ms : ms;
}

/** Trailing-zero-trimmed fraction of `v` with `prec` digits, Go's fmtFrac. */
function fracDigits(v: bigint, prec: number): { rest: bigint; frac: string } {
  let digits = '';
  let printed = false;
  let u = v;
  for (let i = 0; i < prec; i++) {
    const d = u % 10n;
    printed = printed || d !== 0n;
    if (printed) digits = d.toString() + digits;
    u /= 10n;
  }
  return { rest: u, frac: printed ? '.' + digits : '' };
}

/** Go's `time.Duration.String()` for a value in milliseconds: `1h0m0s`, `1m3s`, `500ms`, `0s`. */
export function formatGoDuration(ms: number): string {
  let ns = Number.isInteger(ms) ? BigInt(ms) * 1_000_000n : BigInt(Math.round(ms * 1e6));
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns === 0n) return '0s';
  if (ns < 1_000_000_000n) {
    let prec: number;
    let unit: string;
    if (ns < 1000n) {
      prec = 0;
      unit = 'ns';
    } else if (ns < 1_000_000n) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const { rest, frac } = fracDigits(ns, prec);
    out = `${rest}${frac}${unit}`;
  } else {
    const { rest, frac } = fracDigits(ns, 9);
    const secs = rest % 60n;
    const mins = rest / 60n;
    out = `${secs}${frac}s`;
    if (mins > 0n) {
      out = `${mins % 60n}m${out}`;
      const hours = mins / 60n;
      if (hours > 0n) out = `${hours}h${out}`;
    }
  }
  return neg ? '-' + out : out;
}

/** The reference's `util.FriendlyBytes`: `1000 B`, `1.00 KB`, `976.56 MB`. */
export function formatBytes(bytes: number): string {
  const base = 1024;
  if (bytes < base) return `${bytes} B`;
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  const exp = Math.min(Math.floor(Math.log(bytes) / Math.log(base)), units.length);
  return `${(bytes / Math.pow(base, exp)).toFixed(2)} ${units[exp - 1]}B`;
}
