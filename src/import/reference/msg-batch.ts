/**
 * A batch of messages in columns, for the import's fast path: one Float64Array of sequences,
 * one of timestamps, the end offset of each row, and every row's bytes in one buffer. No object
 * per message: at 1,000,000 messages the per-message objects of the record-by-record path
 * (ReferenceMessage, NewMsg, StoredMsg, MsgRow, the driver's parameters) cost more CPU and
 * heap than reading the files (docs/design/import.md, "Speed").
 *
 * A row is the message as our store keeps it: the marshalled MsgProto exactly as
 * `encodeMsgProto(seq, subject, reply, data, timestampNs)` (src/protocol/fast.ts) makes it. The
 * fast encoder below writes the same bytes from a stored record's field offsets; anything it
 * does not cover goes through `addMessage`, which calls encodeMsgProto itself.
 * test/unit/import-msg-batch.test.ts checks the two against each other.
 *
 * The buffers are plain ArrayBuffers (never Node's shared pool): a batch can be transferred to
 * another thread as it is.
 */
import { encodeMsgProto, varintSize, writeVarint } from '../../protocol/fast';

export interface MessageBatch {
  readonly count: number;
  /** Sequence of row i. */
  readonly seqs: Float64Array;
  /** Timestamp of row i in nanoseconds, as a double (the `ts` column: Number(ns)). */
  readonly timestamps: Float64Array;
  /** End offset of row i in `data`; row i starts at ends[i - 1] (0 for the first). */
  readonly ends: Uint32Array;
  /** The rows, back to back: data.length === ends[count - 1]. */
  readonly data: Buffer;
}

/** Field offsets of one stored MsgProto (reference-stores.md §2.5), all in one source buffer. */
export interface MsgFieldOffsets {
  seq: number;
  subjectStart: number;
  subjectEnd: number;
  replyStart: number;
  replyEnd: number;
  /** The timestamp's varint bytes (canonical, 1–9 bytes, value > 0) or start = end = 0. */
  tsStart: number;
  tsEnd: number;
  /** Timestamp as a double (exactly Number(BigInt ns)). */
  tsNumber: number;
}

/**
 * Byte copy: a loop for short ranges (subjects, varints), where creating the subarray that
 * TypedArray.set needs costs more than the copy; set for the rest.
 */
function copyBytes(src: Uint8Array, start: number, len: number, out: Uint8Array, at: number): void {
  if (len <= 32) {
    for (let i = 0; i < len; i++) out[at + i] = src[start + i];
    return;
  }
  out.set(src.subarray(start, start + len), at);
}

function lengthField(len: number): number {
  return len > 0 ? 1 + varintSize(len) + len : 0;
}

export class MessageBatchBuilder {
  private seqs: Float64Array;
  private timestamps: Float64Array;
  private ends: Uint32Array;
  private data: Buffer;
  private n = 0;
  private pos = 0;

  /** Full at `maxMsgs` rows or once `maxBytes` bytes are in it. */
  constructor(
    readonly maxMsgs: number,
    readonly maxBytes: number,
  ) {
    this.seqs = new Float64Array(maxMsgs);
    this.timestamps = new Float64Array(maxMsgs);
    this.ends = new Uint32Array(maxMsgs);
    this.data = Buffer.from(new ArrayBuffer(Math.min(maxBytes, 4 << 20)));
  }

  get count(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n >= this.maxMsgs || this.pos >= this.maxBytes;
  }

  /** Room for `len` more bytes (doubling: a batch holds at most maxBytes + one row). */
  private reserve(len: number): void {
    const need = this.pos + len;
    if (need <= this.data.length) return;
    const grown = Buffer.from(new ArrayBuffer(Math.max(need, this.data.length * 2)));
    this.data.copy(grown, 0, 0, this.pos);
    this.data = grown;
  }

  private close(seq: number, tsNumber: number): void {
    this.seqs[this.n] = seq;
    this.timestamps[this.n] = tsNumber;
    this.ends[this.n] = this.pos;
    this.n++;
  }

  /** A message given as values (SQL sources, and records the fast path leaves out). */
  addMessage(seq: number, subject: string, reply: string, data: Uint8Array, timestampNs: bigint): void {
    const row = encodeMsgProto(seq, subject, reply, data, timestampNs);
    this.reserve(row.length);
    row.copy(this.data, this.pos);
    this.pos += row.length;
    this.close(seq, Number(timestampNs));
  }

  /**
   * A message from a stored record's field offsets in `src` and its (decrypted) payload:
   * writes what encodeMsgProto would, field by field (1 seq, 2 subject, 3 reply, 4 data,
   * 5 timestamp; empty and zero fields left out).
   */
  addFields(src: Uint8Array, f: MsgFieldOffsets, payload: Uint8Array, payloadStart: number, payloadEnd: number): void {
    const subjLen = f.subjectEnd - f.subjectStart;
    const replyLen = f.replyEnd - f.replyStart;
    const dataLen = payloadEnd - payloadStart;
    const tsLen = f.tsEnd - f.tsStart;
    const size = (f.seq > 0 ? 1 + varintSize(f.seq) : 0) + lengthField(subjLen) + lengthField(replyLen) + lengthField(dataLen) + (tsLen > 0 ? 1 + tsLen : 0);
    this.reserve(size);
    const out = this.data;
    let p = this.pos;
    if (f.seq > 0) {
      out[p++] = 0x08;
      p = writeVarint(out, p, f.seq);
    }
    p = this.putBytes(p, 0x12, src, f.subjectStart, subjLen);
    p = this.putBytes(p, 0x1a, src, f.replyStart, replyLen);
    p = this.putBytes(p, 0x22, payload, payloadStart, dataLen);
    if (tsLen > 0) {
      out[p++] = 0x28;
      copyBytes(src, f.tsStart, tsLen, out, p);
      p += tsLen;
    }
    this.pos = p;
    this.close(f.seq, f.tsNumber);
  }

  private putBytes(p: number, tag: number, src: Uint8Array, start: number, len: number): number {
    if (len === 0) return p;
    const out = this.data;
    out[p++] = tag;
    p = writeVarint(out, p, len);
    copyBytes(src, start, len, out, p);
    return p + len;
  }

  /** The batch so far (possibly empty); the builder starts a new one with fresh buffers. */
  take(): MessageBatch {
    const b: MessageBatch = {
      count: this.n,
      seqs: this.seqs.subarray(0, this.n),
      timestamps: this.timestamps.subarray(0, this.n),
      ends: this.ends.subarray(0, this.n),
      data: this.data.subarray(0, this.pos),
    };
    this.seqs = new Float64Array(this.maxMsgs);
    this.timestamps = new Float64Array(this.maxMsgs);
    this.ends = new Uint32Array(this.maxMsgs);
    this.data = Buffer.from(new ArrayBuffer(Math.min(this.maxBytes, Math.max(this.pos, 1 << 16) + (1 << 16))));
    this.n = 0;
    this.pos = 0;
    return b;
  }
}

/** Row i's bytes in a batch. */
export function batchRow(b: MessageBatch, i: number): Buffer {
  return b.data.subarray(i === 0 ? 0 : b.ends[i - 1], b.ends[i]);
}

/** A message as the readers yield it (model.ts ReferenceMessage; not imported: model.ts imports this module). */
interface MessageFields {
  readonly seq: number;
  readonly timestamp: bigint;
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
}

/** Batches of any reader's messages with seq >= fromSeq (the SQL reader, scan-mode slices). */
export async function* batchesOf(msgs: AsyncIterable<MessageFields>, fromSeq: number, maxMsgs: number, maxBytes: number): AsyncGenerator<MessageBatch> {
  const b = new MessageBatchBuilder(maxMsgs, maxBytes);
  for await (const m of msgs) {
    if (m.seq < fromSeq) continue;
    b.addMessage(m.seq, m.subject, m.reply, m.data, m.timestamp);
    if (b.full) yield b.take();
  }
  if (b.count > 0) yield b.take();
}
