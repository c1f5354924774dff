/**
 * The load generator's hand-encoded protobuf: every PubMsg of a publisher is the same bytes
 * except its 22-byte guid, whose last digits are a counter that PubAcks are matched by.
 */
import { varintSize, writeVarint } from '../protocol/fast';
import { readVarint, VARINT_TRUNCATED, varintEnd } from '../protocol/varint';

/** Length-delimited field (wire type 2). */
export function ldField(field: number, bytes: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(varintSize(field << 3) + varintSize(bytes.length) + bytes.length);
  let off = writeVarint(out, 0, (field << 3) | 2);
  off = writeVarint(out, off, bytes.length);
  out.set(bytes, off);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const te = new TextEncoder();
export const td = new TextDecoder();

export const GUID_LEN = 22;
export const GUID_DIGITS = 10;
export const GUID_PREFIX_LEN = GUID_LEN - GUID_DIGITS;

/** Reads the decimal counter in the last GUID_DIGITS bytes of a guid at buf[off..off+22). */
export function guidCounter(buf: Uint8Array, off: number): number {
  let n = 0;
  for (let i = off + GUID_PREFIX_LEN; i < off + GUID_LEN; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

export function writeGuidCounter(buf: Uint8Array, off: number, n: number): void {
  for (let i = off + GUID_LEN - 1; i >= off + GUID_PREFIX_LEN; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/** Reads a varint at buf[pos]; returns [value, newPos]. Values up to 2^53. */
export function varintAt(buf: Uint8Array, pos: number): [number, number] {
  const v = readVarint(buf, pos, buf.length);
  if (v === VARINT_TRUNCATED) throw new Error('truncated varint');
  if (v < 0) throw new Error('varint longer than 10 bytes');
  return [v, varintEnd.pos];
}

/** Extracts MsgProto.sequence (field 1) without decoding the rest. */
export function msgProtoSequence(buf: Uint8Array): number {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = varintAt(buf, pos);
    pos = p;
    const wt = tag & 7;
    if (tag >>> 3 === 1 && wt === 0) return varintAt(buf, pos)[0];
    if (wt === 0) pos = varintAt(buf, pos)[1];
    else if (wt === 2) {
      const [len, p2] = varintAt(buf, pos);
      pos = p2 + len;
    } else if (wt === 5) pos += 4;
    else if (wt === 1) pos += 8;
    else throw new Error(`unexpected wire type ${wt}`);
  }
  return 0;
}
