/**
 * Tiny formatters reproducing the reference server's (Go) textual forms, used by the
 * start-up limits table. Kept local to the store module on purpose: the config module has
 * its own helpers being written concurrently and the limits table must not change when
 * those evolve.
 */

const NS_PER_MS = 1_000_000n;

/** `fmtFrac` of Go's time package: `.123` without trailing zeros, '' when the fraction is 0. */
function goFraction(frac: bigint, prec: number): string {
  if (frac === 0n) return '';
  const digits = frac.toString().padStart(prec, '0').replace(/0+$/, '');
  return `.${digits}`;
}

/**
 * Go's `time.Duration.String()` for a duration given in milliseconds: `1h0m0s`, `2h0m0s`,
 * `1m30s`, `1.5s`, `500ms`, `0s`.
 *
 * BigInt because the nanosecond count of a long max_age (months) exceeds 2^53 and the
 * reference prints it exactly.
 */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1_000_000_000n) {
    if (ns === 0n) return '0s';
    if (ns < 1000n) out = `${ns}ns`;
    else if (ns < NS_PER_MS) out = `${ns / 1000n}${goFraction(ns % 1000n, 3)}µs`;
    else out = `${ns / NS_PER_MS}${goFraction(ns % NS_PER_MS, 6)}ms`;
  } else {
    const secs = ns / 1_000_000_000n;
    const frac = goFraction(ns % 1_000_000_000n, 9);
    const s = secs % 60n;
    const totalMin = secs / 60n;
    if (totalMin === 0n) out = `${s}${frac}s`;
    else {
      const m = totalMin % 60n;
      const h = totalMin / 60n;
      out = h > 0n ? `${h}h${m}m${s}${frac}s` : `${m}m${s}${frac}s`;
    }
  }
  return neg ? `-${out}` : out;
}

/**
 * Go's `fmt.Sprintf("%.2f", x)`: round-half-to-even on the exact binary value. JS
 * `toFixed` rounds exact ties up instead, so ties (odd multiples of 1/8, the only values
 * with an exact `5` in the third decimal) are handled explicitly.
 */
function goFixed2(x: number): string {
  if (Number.isInteger(x * 8) && !Number.isInteger(x * 4)) {
    let n = Math.floor(x * 100); // x*100 is exactly n + 0.5 here
    if (n % 2 !== 0) n += 1;
    return (n / 100).toFixed(2);
  }
  return x.toFixed(2);
}

const BYTE_PREFIXES = ['K', 'M', 'G', 'T', 'P', 'E'];

/**
 * The reference's `util.FriendlyBytes`: powers of 1024 with two decimals (`976.56 MB`,
 * `10.00 MB`, `1.00 KB`), plain `N B` below 1 KB.
 */
export function formatFriendlyBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  // Same float computation as the reference (int(log(x)/log(1024))) so boundary values
  // land on the same unit.
  const exp = Math.min(Math.trunc(Math.log(bytes) / Math.log(1024)), BYTE_PREFIXES.length);
  return `${goFixed2(bytes / Math.pow(1024, exp))} ${BYTE_PREFIXES[exp - 1]}B`;
}

/** Go's `%13s`: right-align in a field of `width`, never truncating. */
export function padLeft(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}
