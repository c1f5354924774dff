/**
 * The import's fast decoder of a stored MsgProto (reference-stores.md §2.5): field offsets
 * instead of strings and BigInts. It covers what the reference writes (fields 1–5, each at
 * most once, canonical varints, ASCII subject and reply, a positive timestamp) and answers
 * false for anything else, which the caller then decodes with the exact general decoder
 * (records.ts decodeMsg): so the rows written are the same bytes either way.
 */
import { halvesToNumber, type MsgFieldOffsets } from './msg-batch';

/** The data field's offsets (field 4): set by scanMsgFields. */
export interface MsgDataOffsets {
  dataStart: number;
  dataEnd: number;
}

export type ScannedMsg = MsgFieldOffsets & MsgDataOffsets;

export function newScannedMsg(): ScannedMsg {
  return { seq: 0, subjectStart: 0, subjectEnd: 0, replyStart: 0, replyEnd: 0, tsStart: 0, tsEnd: 0, tsNumber: 0, dataStart: 0, dataEnd: 0 };
}

function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] >= 0x80) return false;
  return true;
}

/**
 * Fills `out` from the record `b[start..end)`. False when the record is outside the fast
 * path's cases (including any malformation: the general decoder then reports it).
 */
export function scanMsgFields(b: Uint8Array, start: number, end: number, out: ScannedMsg): boolean {
  out.seq = 0;
  out.subjectStart = out.subjectEnd = out.replyStart = out.replyEnd = 0;
  out.tsStart = out.tsEnd = 0;
  out.tsNumber = 0;
  out.dataStart = out.dataEnd = 0;
  let seen = 0;
  let p = start;
  while (p < end) {
    const key = b[p++];
    const num = key >> 3;
    // One-byte keys of fields 1–5 only; each field once (a repeated field's last value wins in
    // the general decoder).
    if (key >= 0x80 || num < 1 || num > 5 || (seen & (1 << num)) !== 0) return false;
    seen |= 1 << num;
    const wire = key & 7;
    if (num === 1 || num === 5) {
      if (wire !== 0) return false;
      const vStart = p;
      while (p < end && b[p] >= 0x80) p++;
      if (p >= end) return false;
      p++;
      const len = p - vStart;
      // Canonical (no trailing zero group), at most 9 bytes (< 2^63: a positive int64).
      if (len > 9 || (len > 1 && b[p - 1] === 0)) return false;
      if (num === 1) {
        if (len > 7) return false;
        let v = 0;
        let mul = 1;
        for (let i = vStart; i < p; i++) {
          v += (b[i] & 0x7f) * mul;
          mul *= 128;
        }
        out.seq = v;
      } else {
        if (len === 1 && b[vStart] === 0) continue;
        out.tsStart = vStart;
        out.tsEnd = p;
        out.tsNumber = varintToNumber(b, vStart, len);
      }
      continue;
    }
    if (wire !== 2) return false;
    let len = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (p >= end || i > 4) return false;
      const c = b[p++];
      len += (c & 0x7f) * mul;
      mul *= 128;
      if (c < 0x80) break;
    }
    const fEnd = p + len;
    if (fEnd > end) return false;
    if (num === 2 || num === 3) {
      if (!isAscii(b, p, fEnd)) return false;
      if (num === 2) {
        out.subjectStart = p;
        out.subjectEnd = fEnd;
      } else {
        out.replyStart = p;
        out.replyEnd = fEnd;
      }
    } else {
      out.dataStart = p;
      out.dataEnd = fEnd;
    }
    p = fEnd;
  }
  return true;
}

/** A canonical varint of at most 9 bytes as the double nearest to it. */
function varintToNumber(b: Uint8Array, at: number, len: number): number {
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
