/**
 * Readers of protobuf (LEB128) varints, the one place that rule is written: the STAN
 * protocol's fast decoders, the event codec, the reference-store importer and the load
 * generator all read through these.
 *
 * Allocation-free: a reader returns the value and leaves the position after the varint in
 * `varintEnd.pos` (one shared object, so no tuple or cursor object per call on the decode hot
 * paths). Failures are returned, not thrown, as negative sentinels (a varint is unsigned), so
 * every caller keeps its own error type and text.
 */

/** The varint runs past `end`. */
export const VARINT_TRUNCATED = -1;
/** More than 10 bytes: not a 64-bit varint. */
export const VARINT_TOO_LONG = -2;

/** Where the last successful read ended (the index of the byte after the varint). */
export const varintEnd = { pos: 0 };

/**
 * The varint at `buf[pos]`, ending before `end`, as a number: exact up to 2^53, the sum of
 * its groups in doubles above that. Negative: VARINT_TRUNCATED or VARINT_TOO_LONG.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) return VARINT_TRUNCATED;
  let b = buf[pos++];
  if (b < 0x80) {
    varintEnd.pos = pos;
    return b;
  }
  let v = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    if (pos >= end) return VARINT_TRUNCATED;
    b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      varintEnd.pos = pos;
      return v;
    }
    mul *= 128;
  }
  return VARINT_TOO_LONG;
}

/**
 * The varint at `buf[pos]`, ending before `end`, exactly, as an unsigned 64-bit bigint.
 * Negative: BigInt(VARINT_TRUNCATED) or BigInt(VARINT_TOO_LONG).
 */
export function readBigVarint(buf: Uint8Array, pos: number, end: number): bigint {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return BigInt(VARINT_TRUNCATED);
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      varintEnd.pos = pos;
      return result & 0xffffffffffffffffn;
    }
    shift += 7n;
  }
  return BigInt(VARINT_TOO_LONG);
}

/**
 * The `len`-byte varint at `b[at]` (at most 9 bytes: < 2^63) as the double nearest to it:
 * its 64 bits are assembled in two 32-bit halves, so the only rounding is the final one
 * (summing groups in doubles would round at each step above 2^53).
 */
export function varintToNearestNumber(b: Uint8Array, at: number, len: number): number {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < len; i++) {
    const g = b[at + i] & 0x7f;
    const shift = 7 * i;
    if (shift < 28) lo |= g << shift;
    else if (shift === 28) {
      lo |= (g & 0x0f) << 28;
      hi |= g >> 4;
    } else hi |= g << (shift - 32);
  }
  return halvesToNumber(lo >>> 0, hi >>> 0);
}

const TWO_32 = 4294967296;

/** The double nearest to a 64-bit value given as two 32-bit halves (one rounding, as Number(bigint)). */
export function halvesToNumber(lo: number, hi: number): number {
  return hi * TWO_32 + lo;
}
