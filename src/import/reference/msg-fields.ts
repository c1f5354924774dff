/**
 * The import's fast decoder of a stored MsgProto (reference-stores.md §2.5): field offsets
 * instead of strings and BigInts. It covers what the reference writes (fields 1–5, each at
 * most once, canonical varints, ASCII subject and reply, a positive timestamp) and answers
 * false for anything else, which the caller then decodes with the exact general decoder
 * (records.ts decodeMsg): so the rows written are the same bytes either way.
 */
import type { MsgFieldOffsets } from './msg-batch';
import { readVarint, varintEnd, varintToNearestNumber } from '../../protocol/varint';

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
        out.seq = readVarint(b, vStart, p);
      } else {
        if (len === 1 && b[vStart] === 0) continue;
        out.tsStart = vStart;
        out.tsEnd = p;
        out.tsNumber = varintToNearestNumber(b, vStart, len);
      }
      continue;
    }
    if (wire !== 2) return false;
    // A length of at most 5 bytes (< 2^35).
    const len = readVarint(b, p, end);
    if (len < 0 || varintEnd.pos - p > 5) return false;
    p = varintEnd.pos;
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
