/**
 * The message format between the store and the sealing worker thread (src/store/seal-pool.ts):
 * a batch of rows travels as two transferred ArrayBuffers, never as one object per row.
 *
 *   data  the plaintexts, concatenated in row order
 *   meta  Float64Array, 3 numbers per row: plaintext length, channel ID, sequence (the
 *         authenticated context of the row, see rowContext)
 *
 * The answer is one ArrayBuffer with the sealed records in the same order, record i at
 * (sum of the plaintext lengths before it) + i × RECORD_OVERHEAD: both sides compute the
 * offsets, nothing else is sent. This module imports only ./crypto (node:crypto), so the
 * worker loads nothing else.
 */
import type { KeyObject } from 'node:crypto';
import { RECORD_MAGIC, RECORD_OVERHEAD, rowContext, sealInto, type CipherName } from './crypto';

/** One row to seal. */
export interface SealInput {
  channelID: number;
  seq: number;
  plain: Uint8Array;
}

export interface PackedBatch {
  data: ArrayBuffer;
  meta: ArrayBuffer;
}

/** Packs rows [from, to) into fresh (transferable) ArrayBuffers. */
export function packBatch(rows: readonly SealInput[], from = 0, to = rows.length): PackedBatch {
  let total = 0;
  for (let i = from; i < to; i++) total += rows[i].plain.length;
  const data = new Uint8Array(new ArrayBuffer(total));
  const meta = new Float64Array(3 * (to - from));
  let pos = 0;
  let k = 0;
  for (let i = from; i < to; i++) {
    const r = rows[i];
    data.set(r.plain, pos);
    pos += r.plain.length;
    meta[k++] = r.plain.length;
    meta[k++] = r.channelID;
    meta[k++] = r.seq;
  }
  return { data: data.buffer, meta: meta.buffer };
}

/** Size of the sealed answer for a meta buffer. */
export function sealedSize(meta: Float64Array): number {
  let total = 0;
  for (let k = 0; k < meta.length; k += 3) total += meta[k] + RECORD_OVERHEAD;
  return total;
}

/** Seals a packed batch (the worker's whole job); returns the records, concatenated. */
export function sealPacked(name: CipherName, key: KeyObject, batch: PackedBatch): ArrayBuffer {
  const meta = new Float64Array(batch.meta);
  const data = new Uint8Array(batch.data);
  // allocUnsafeSlow: a buffer of its own (never a slice of Node's shared pool), so it can be transferred.
  const out = Buffer.allocUnsafeSlow(sealedSize(meta));
  let inPos = 0;
  let outPos = 0;
  for (let k = 0; k < meta.length; k += 3) {
    const len = meta[k];
    sealInto(name, key, data.subarray(inPos, inPos + len), rowContext(meta[k + 1], meta[k + 2]), out.subarray(outPos, outPos + len + RECORD_OVERHEAD));
    inPos += len;
    outPos += len + RECORD_OVERHEAD;
  }
  return out.buffer;
}

/**
 * Splits a sealed answer back into one Buffer per row (views, no copy). Checks the size and
 * that every record starts with the record magic: whatever went wrong in the worker, a row
 * is never handed to the database unless it is an encrypted record.
 */
export function unpackSealed(rows: readonly SealInput[], from: number, to: number, sealed: ArrayBuffer): Buffer[] {
  let expected = 0;
  for (let i = from; i < to; i++) expected += rows[i].plain.length + RECORD_OVERHEAD;
  if (sealed.byteLength !== expected) throw new Error(`encryption worker returned ${sealed.byteLength} bytes, ${expected} expected`);
  const out: Buffer[] = new Array<Buffer>(to - from);
  let pos = 0;
  for (let i = from; i < to; i++) {
    const len = rows[i].plain.length + RECORD_OVERHEAD;
    const rec = Buffer.from(sealed, pos, len);
    if (rec[0] !== RECORD_MAGIC) throw new Error('encryption worker returned a record without the encrypted-record header');
    out[i - from] = rec;
    pos += len;
  }
  return out;
}
