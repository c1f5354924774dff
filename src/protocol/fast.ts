/**
 * Hand-written codecs for the two messages on the publish hot path: PubMsg (decoded once per
 * publish) and MsgProto (encoded once per stored message). Every other message goes through
 * protobufjs (codec.ts). Both functions produce/accept exactly the proto3 wire format of
 * proto/protocol.proto; unit tests check them against protobufjs on random inputs.
 *
 * Why by hand: protobufjs allocates a Writer and a fork chain per encode and a message object
 * with prototype defaults per decode; at hundreds of thousands of messages per second those
 * allocations dominate (see README, Benchmarks).
 */
import type { PubMsg } from './codec';
import { DecodeError } from './codec';
import { readVarint, VARINT_TRUNCATED, varintEnd } from './varint';

const EMPTY = Buffer.alloc(0);
const TWO_32 = 4294967296;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Bytes of `v`'s protobuf varint (also used by the import's column batches). */
export function varintSize(v: number): number {
  // v is a non-negative integer < 2^64 carried in a double.
  if (v < 128) return 1;
  if (v < 16384) return 2;
  if (v < 2097152) return 3;
  if (v < 268435456) return 4;
  let n = 4;
  let hi = Math.floor(v / 268435456);
  while (hi > 0) {
    n++;
    hi = Math.floor(hi / 128);
  }
  return n;
}

/** Writes `v` as a protobuf varint at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, v: number): number {
  if (v < TWO_32) {
    let x = v >>> 0;
    while (x > 127) {
      buf[pos++] = (x & 127) | 128;
      x >>>= 7;
    }
    buf[pos++] = x;
    return pos;
  }
  // Large values (nanosecond timestamps): split into 32-bit halves, exact for any double.
  return writeVarintHalves(buf, pos, v % TWO_32 >>> 0, Math.floor(v / TWO_32) >>> 0);
}

/** A 64-bit varint given as its low and high 32-bit halves. */
function writeVarintHalves(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi > 0 || lo > 127) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

/**
 * MsgProto{sequence, subject, reply, data, timestamp} as stored and delivered
 * (redelivered = false, redeliveryCount = 0, CRC32 unset: default values are omitted).
 */
/** Bytes of a varint holding `v` (a bigint, for values beyond a double's exact range). */
function bigVarintSize(v: bigint): number {
  const hi = Number(v >> 32n);
  // Above 2^32 the size depends only on the bit length, which hi * 2^32 (exact) keeps.
  return hi === 0 ? varintSize(Number(v)) : varintSize(hi * TWO_32);
}

/**
 * `timestamp` is a number (ns) or, when it does not fit a double exactly, a bigint: the
 * import keeps the reference's stored nanoseconds as they are (src/store/types.ts NewMsg).
 */
export function encodeMsgProto(seq: number, subject: string, reply: string, data: Uint8Array, timestamp: number | bigint): Buffer {
  const buf = Buffer.allocUnsafe(msgProtoSize(seq, subject, reply, data, timestamp));
  encodeMsgProtoInto(buf, 0, seq, subject, reply, data, timestamp);
  return buf;
}

/**
 * The UTF-8 bytes of the last subject encoded. Every message of a channel carries the
 * channel's name: one native `byteLength` and one `write` per message (~0.3 µs together in
 * the publish profile) become a comparison with the same string object and a short copy.
 */
let lastSubject = '';
let lastSubjectBytes: Buffer = EMPTY;

function subjectBytes(subject: string): Buffer {
  if (subject !== lastSubject) {
    lastSubjectBytes = Buffer.from(subject, 'utf8');
    lastSubject = subject;
  }
  return lastSubjectBytes;
}

/**
 * The varint of the last timestamp encoded. The messages of a burst share one clock reading
 * (src/stan/burst-clock.ts): a nanosecond timestamp needs a 64-bit varint, whose size loop and
 * split into 32-bit halves (a floating-point modulo) cost ~0.05 µs per message (`varintSize`
 * 1.4% of the server's CPU in a `perf` profile of async publishing), for the same bytes.
 */
let lastTs = -1;
const lastTsBytes = Buffer.alloc(10);
let lastTsLen = 0;

function tsVarintLen(ts: number): number {
  if (ts !== lastTs) {
    lastTsLen = writeVarint(lastTsBytes, 0, ts);
    lastTs = ts;
  }
  return lastTsLen;
}

/** Encoded size of the MsgProto encodeMsgProto writes. */
export function msgProtoSize(seq: number, subject: string, reply: string, data: Uint8Array, timestamp: number | bigint): number {
  const subjLen = subjectBytes(subject).length;
  const replyLen = reply ? Buffer.byteLength(reply) : 0;
  const dataLen = data.length;
  let size = 0;
  if (seq > 0) size += 1 + varintSize(seq);
  if (subjLen > 0) size += 1 + varintSize(subjLen) + subjLen;
  if (replyLen > 0) size += 1 + varintSize(replyLen) + replyLen;
  if (dataLen > 0) size += 1 + varintSize(dataLen) + dataLen;
  if (timestamp > 0) size += 1 + (typeof timestamp === 'bigint' ? bigVarintSize(timestamp) : tsVarintLen(timestamp));
  return size;
}

/**
 * Writes the MsgProto at `buf[p]` (room for msgProtoSize bytes is the caller's job), so a
 * store can encode straight into its own chunk without a Buffer per message.
 */
export function encodeMsgProtoInto(buf: Buffer, p: number, seq: number, subject: string, reply: string, data: Uint8Array, timestamp: number | bigint): void {
  if (seq > 0) {
    buf[p++] = 0x08;
    p = writeVarint(buf, p, seq);
  }
  if (subject.length > 0) {
    const sb = subjectBytes(subject);
    const n = sb.length;
    buf[p++] = 0x12;
    p = writeVarint(buf, p, n);
    if (n <= 8) {
      for (let i = 0; i < n; i++) buf[p++] = sb[i];
    } else {
      // TypedArray set of the whole cached Buffer: no view, ~20 ns for 40 bytes where a JS byte
      // loop took 80–140 ns (in isolation, this Node); Buffer.copy's JS wrapper costs more.
      buf.set(sb, p);
      p += n;
    }
  }
  if (reply) {
    buf[p++] = 0x1a;
    p = writeVarint(buf, p, Buffer.byteLength(reply));
    p += buf.write(reply, p, 'utf8');
  }
  const dataLen = data.length;
  if (dataLen > 0) {
    buf[p++] = 0x22;
    p = writeVarint(buf, p, dataLen);
    buf.set(data, p);
    p += dataLen;
  }
  if (typeof timestamp === 'bigint') {
    if (timestamp > 0n) {
      buf[p++] = 0x28;
      writeBigVarint(buf, p, timestamp);
    }
  } else if (timestamp > 0) {
    buf[p++] = 0x28;
    const n = tsVarintLen(timestamp);
    for (let i = 0; i < n; i++) buf[p++] = lastTsBytes[i];
  }
}

/** A 64-bit varint from a bigint (exact beyond 2^53). */
function writeBigVarint(buf: Buffer, pos: number, v: bigint): number {
  return writeVarintHalves(buf, pos, Number(v & 0xffffffffn) >>> 0, Number(v >> 32n) >>> 0);
}

class Cursor {
  pos = 0;
  /** Where the message ends in `buf` (a message may be a range of a larger buffer). */
  end = 0;
  constructor(public buf: Buffer) {}

  /** Starts over on buf[start, end) (decodePubMsgRaw reuses one cursor: no object per publish). */
  reset(buf: Buffer, start: number, end: number): this {
    // Stored only when it changes: the messages of one socket chunk share it, and storing a
    // young buffer into this long-lived object costs a write barrier each time.
    if (this.buf !== buf) this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  varint(): number {
    const v = readVarint(this.buf, this.pos, this.end);
    if (v < 0) throw new Error(v === VARINT_TRUNCATED ? 'index out of range' : 'invalid varint encoding');
    this.pos = varintEnd.pos;
    return v;
  }

  /** Start of a length-delimited field; advances past it. */
  lengthDelimited(): number {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new Error(`index out of range: ${start} + ${len} > ${this.end}`);
    this.pos = start + len;
    return start;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
    if (this.pos > this.end) throw new Error('index out of range');
  }
}

/**
 * Decodes a PubMsg. `data`, `connID` and `sha256` are views into `input` (no copy): callers
 * that keep them beyond the current message must copy (the stores encode their own copy).
 */
export function decodePubMsg(input: Uint8Array): PubMsg {
  const r = newPubMsgRaw();
  decodePubMsgRaw(input, r);
  const b = r.buf;
  return {
    clientID: b.toString('utf8', r.clientID0, r.clientID1),
    guid: b.toString('utf8', r.guid0, r.guid1),
    subject: b.toString('utf8', r.subject0, r.subject1),
    reply: b.toString('utf8', r.reply0, r.reply1),
    data: b.subarray(r.data0, r.data1),
    connID: b.subarray(r.connID0, r.connID1),
    sha256: b.subarray(r.sha2560, r.sha2561),
  };
}

/**
 * PubMsg fields as byte ranges of `buf`, filled in place by decodePubMsgRaw: the publish hot
 * path compares channel and connection bytes with its caches instead of decoding strings.
 * A range with start === end is an absent (or empty) field.
 */
export interface PubMsgRaw {
  buf: Buffer;
  clientID0: number;
  clientID1: number;
  guid0: number;
  guid1: number;
  subject0: number;
  subject1: number;
  reply0: number;
  reply1: number;
  data0: number;
  data1: number;
  connID0: number;
  connID1: number;
  sha2560: number;
  sha2561: number;
}

export function newPubMsgRaw(): PubMsgRaw {
  return {
    buf: EMPTY,
    clientID0: 0,
    clientID1: 0,
    guid0: 0,
    guid1: 0,
    subject0: 0,
    subject1: 0,
    reply0: 0,
    reply1: 0,
    data0: 0,
    data1: 0,
    connID0: 0,
    connID1: 0,
    sha2560: 0,
    sha2561: 0,
  };
}

const pubCursor = new Cursor(EMPTY);

/**
 * Same wire rules as decodePubMsg (including the wrong-wire-type rejection), no allocation
 * when `input` is a Buffer. The message is input[start, end) (default: all of it); the ranges
 * filled in are offsets in `out.buf`, which is `input` itself when it is a Buffer.
 */
export function decodePubMsgRaw(input: Uint8Array, out: PubMsgRaw, start = 0, end = input.length): void {
  const buf = asBuffer(input);
  if (out.buf !== buf) out.buf = buf;
  out.clientID0 = out.clientID1 = out.guid0 = out.guid1 = out.subject0 = out.subject1 = 0;
  out.reply0 = out.reply1 = out.data0 = out.data1 = out.connID0 = out.connID1 = out.sha2560 = out.sha2561 = 0;
  // Decoding is synchronous and never re-entered: one cursor serves every call.
  const c = pubCursor.reset(buf, start, end);
  try {
    while (c.pos < end) {
      const tag = c.varint();
      const field = Math.floor(tag / 8);
      const wt = tag & 7;
      if (wt === 2 && ((field >= 1 && field <= 6) || field === 10)) {
        const start = c.lengthDelimited();
        const end = c.pos;
        switch (field) {
          case 1:
            out.clientID0 = start;
            out.clientID1 = end;
            break;
          case 2:
            out.guid0 = start;
            out.guid1 = end;
            break;
          case 3:
            out.subject0 = start;
            out.subject1 = end;
            break;
          case 4:
            out.reply0 = start;
            out.reply1 = end;
            break;
          case 5:
            out.data0 = start;
            out.data1 = end;
            break;
          case 6:
            out.connID0 = start;
            out.connID1 = end;
            break;
          case 10:
            out.sha2560 = start;
            out.sha2561 = end;
            break;
        }
      } else if (field === 0) {
        throw new Error(`invalid field number 0 at offset ${c.pos}`);
      } else if ((field >= 1 && field <= 6) || field === 10) {
        throw new Error(`wrong wireType ${wt} for field ${field} at offset ${c.pos}`);
      } else {
        c.skip(wt);
      }
    }
  } catch (err) {
    throw new DecodeError('pb.PubMsg', err);
  }
}

/** PubAck{guid} from the guid's bytes (a view of the PubMsg): no string round trip. */
export function encodeOkPubAckBytes(guid: Uint8Array): Buffer {
  const len = guid.length;
  const b = Buffer.allocUnsafe(1 + varintSize(len) + len);
  b[0] = 0x0a;
  const p = writeVarint(b, 1, len);
  b.set(guid, p);
  return b;
}
