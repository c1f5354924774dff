/**
 * Encoding of a StoreEvent's body for the `body` column of `stan_events` (its `kind` lives in
 * its own column, so it is not repeated in the body).
 *
 * Decision: a hand-written compact binary format (varints, length-prefixed UTF-8 strings,
 * sequence lists as run-length ranges of signed deltas). Measured with
 * src/bench/event-codec-bench.ts (Node 20, this 2-core machine; a realistic mix of 20,000
 * events: 80% MsgsSent/MsgsAcked with 1-100 seqs, the rest SubCreated/SubUpdated/SubDeleted,
 * ClientConnected/ClientClosed, MsgsExpired; median of 5 rounds, two runs):
 *
 *                              encode   decode   total/event   bytes/event
 *   JSON.stringify/parse       1.8 µs   1.8 µs   3.5-4.6 µs        390
 *   protobufjs (packed uint64) 2.5 µs   1.4 µs   3.8-4.1 µs        212
 *   hand-written (this file)   0.46 µs  0.5 µs   0.93-1.0 µs        47
 *
 * MsgsSent alone (1-100 seqs): JSON 3.8 µs / 445 B, protobufjs 4.5 µs / 249 B, this format
 * 0.95 µs / 40 B. SubCreated alone: 2.9 µs / 266 B, 2.3 µs / 104 B, 1.1 µs / 89 B.
 * (protobufjs decode is timed generously: the Message instance is used as is, without the
 * conversion to the plain union a real decoder would need.)
 *
 * JSON pays for number formatting/parsing of every sequence and base64; protobufjs pays one
 * varint per sequence and builds Message instances that must then be mapped to the union.
 * Delivery progress is dominated by runs of consecutive sequences (a plain subscription
 * gets seq n, n+1, ... within a commit; acks mostly arrive in order), which the range
 * encoding stores in two or three bytes whatever their length; queue members see strided
 * sequences, which still cost only one to two bytes each. Recovery decodes millions of
 * these bodies, so decode speed bounds restart time; the smaller rows also cut the bytes
 * written per group commit.
 *
 * Evolution rule (forward-only, like the `kind` numbers): fields are only ever appended to
 * a kind's layout. Decoders ignore trailing bytes they do not know, so an older server of an
 * FT pair reads events written by a newer one (expand/contract); a newly appended field must
 * be read with `reader.more()` and a default when absent, for rows written before it.
 *
 * The ByteWriter/ByteReader primitives are shared with the snapshot format (snapshot.ts).
 */
import type { SubState } from '../../protocol/codec';
import { EventKind, type StoreEvent } from './events';
import { StanServerError } from '../../errors';

/** Thrown for a body that is not a valid encoding (truncated, corrupted, unknown kind). */
export class EventDecodeError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string) {
    super(message);
    this.name = 'EventDecodeError';
  }
}

/**
 * Growable buffer with the primitive writers. Numbers are JS doubles: sequences stay far
 * below 2^53, nanosecond timestamps do not (they are multiples of 256 at their magnitude),
 * which varints reproduce exactly because only exact divisions by powers of two are used.
 */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint (LEB128) of a non-negative integer up to 2^64. */
  uint(v: number): void {
    // Negative or NaN would be written as garbage that decodes to another number: refuse.
    if (!(v >= 0)) throw new RangeError(`cannot encode ${v} as an unsigned varint`);
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80000000) {
      // Int32 fast path: the overwhelmingly common case (IDs, counts, deltas).
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      // `& 0x7f` is exact on doubles above 2^32 (ToInt32 is modular); the division by 128
      // is exact for integers, so no precision is lost.
      while (v > 0x7f) {
        buf[pos++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /**
   * Signed varint of an integer of magnitude up to 2^53: the varint of 2|v| + sign (like
   * protobuf's zig-zag, small magnitudes of either sign take one byte, but sign-magnitude
   * rather than 2|v|-1). Built from the first byte's sign bit and 6 magnitude bits plus the
   * varint of the rest, because 2|v|+1 is not exact as a double above 2^52 (a delta
   * between two large sequences).
   */
  sint(v: number): void {
    const neg = v < 0 ? 1 : 0;
    const m = neg ? -v : v;
    if (m < 64) {
      this.byte(m * 2 + neg);
      return;
    }
    this.byte((((m % 64) * 2) | neg) | 0x80);
    this.uint(Math.floor(m / 64));
  }

  string(s: string): void {
    const n = s.length;
    // Subjects, inboxes and IDs are ASCII: write them without the UTF-8 encoder.
    if (n < 128) {
      this.ensure(n + 1);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.uint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * A sequence list as run-length ranges: total count, then per run of consecutive
   * sequences (start − previous run's end) as signed varint and (run length − 1). Any
   * order is accepted (acks may be out of order); ascending runs are what it compresses.
   */
  seqs(seqs: readonly number[]): void {
    const n = seqs.length;
    this.uint(n);
    let prevEnd = 0;
    let i = 0;
    while (i < n) {
      const start = seqs[i];
      let j = i + 1;
      while (j < n && seqs[j] === seqs[j - 1] + 1) j++;
      this.sint(start - prevEnd);
      this.uint(j - i - 1);
      prevEnd = seqs[j - 1];
      i = j;
    }
  }

  /** A copy of the written bytes, so the scratch buffer can be reused. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Reader over one encoded body; every read checks bounds and throws EventDecodeError. */
export class ByteReader {
  private readonly buf: Buffer;
  private pos = 0;
  /** The whole body as latin1 text, when strings are cut out of it (`withText`). */
  private text: string | undefined;

  constructor(bytes: Uint8Array, private readonly what = 'event') {
    this.buf = asBuffer(bytes);
  }

  /**
   * ASCII strings cut out of the body decoded once as latin1 (offsets match), not one native
   * Buffer#toString each: ~300,000 strings in a 60,000-subscription snapshot (docs/performance.md,
   * "Restart", third round). Slices of 13+ characters keep that text (a byte per byte) alive.
   */
  static withText(bytes: Uint8Array, what: string): ByteReader {
    const r = new ByteReader(bytes, what);
    r.text = r.buf.toString('latin1');
    return r;
  }

  /** True while unread bytes remain (fields appended by newer versions). */
  more(): boolean {
    return this.pos < this.buf.length;
  }

  get offset(): number {
    return this.pos;
  }

  private truncated(): never {
    throw new EventDecodeError(`${this.what} truncated at byte ${this.pos} of ${this.buf.length}`);
  }

  byte(): number {
    if (this.pos >= this.buf.length) this.truncated();
    return this.buf[this.pos++];
  }

  uint(): number {
    const buf = this.buf;
    const end = buf.length;
    let pos = this.pos;
    if (pos >= end) this.truncated();
    let b = buf[pos++];
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let v = b & 0x7f;
    let mul = 128;
    for (let i = 1; i < 10; i++) {
      if (pos >= end) this.truncated();
      b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return v;
      }
      mul *= 128;
    }
    throw new EventDecodeError(`${this.what}: varint longer than 10 bytes at byte ${this.pos}`);
  }

  sint(): number {
    // Mirror of ByteWriter.sint: the first byte carries the sign and 6 magnitude bits.
    const b0 = this.byte();
    let m = (b0 >> 1) & 0x3f;
    if (b0 & 0x80) m += this.uint() * 64;
    return b0 & 1 ? -m : m;
  }

  /** Signed int32 field (protobuf int32 may be negative); the same encoding as sint. */
  int32(): number {
    return this.sint();
  }

  string(): string {
    const len = this.uint();
    const start = this.pos;
    const end = start + len;
    if (end > this.buf.length) this.truncated();
    const buf = this.buf;
    // ASCII (subjects, inboxes, IDs): latin1 decoding is a plain byte copy, much cheaper
    // than UTF-8 validation; a byte >= 0x80 falls back to UTF-8.
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    this.pos = end;
    if (ascii) {
      if (len === 0) return '';
      return this.text !== undefined ? this.text.slice(start, end) : buf.toString('latin1', start, end);
    }
    return buf.toString('utf8', start, end);
  }

  /** A copy: the result must not pin the (possibly large) buffer it was read from. */
  bytes(): Uint8Array {
    const len = this.uint();
    const end = this.pos + len;
    if (end > this.buf.length) this.truncated();
    const out = new Uint8Array(len);
    out.set(this.buf.subarray(this.pos, end));
    this.pos = end;
    return out;
  }

  seqs(): number[] {
    const n = this.uint();
    // No pre-allocation from `n`: a corrupted count must not allocate gigabytes; every
    // range is checked against what remains, so a bad count fails as truncated/corrupt.
    const out: number[] = [];
    let prevEnd = 0;
    while (out.length < n) {
      const start = prevEnd + this.sint();
      const extra = this.uint();
      if (out.length + extra + 1 > n) {
        throw new EventDecodeError(`${this.what}: sequence run exceeds its count at byte ${this.pos}`);
      }
      for (let k = 0; k <= extra; k++) out.push(start + k);
      prevEnd = start + extra;
    }
    return out;
  }
}

const FLAG_DURABLE = 1;
const FLAG_CLOSED = 2;

export function writeSubState(w: ByteWriter, s: SubState): void {
  w.uint(s.ID);
  w.string(s.clientID);
  w.string(s.qGroup);
  w.string(s.inbox);
  w.string(s.ackInbox);
  w.sint(s.maxInFlight);
  w.sint(s.ackWaitInSecs);
  w.string(s.durableName);
  w.uint(s.lastSent);
  w.byte((s.isDurable ? FLAG_DURABLE : 0) | (s.isClosed ? FLAG_CLOSED : 0));
}

export function readSubState(r: ByteReader): SubState {
  const ID = r.uint();
  const clientID = r.string();
  const qGroup = r.string();
  const inbox = r.string();
  const ackInbox = r.string();
  const maxInFlight = r.int32();
  const ackWaitInSecs = r.int32();
  const durableName = r.string();
  const lastSent = r.uint();
  const flags = r.byte();
  return {
    ID,
    clientID,
    qGroup,
    inbox,
    ackInbox,
    maxInFlight,
    ackWaitInSecs,
    durableName,
    lastSent,
    isDurable: (flags & FLAG_DURABLE) !== 0,
    isClosed: (flags & FLAG_CLOSED) !== 0,
  };
}

/** Scratch writer reused by encodeEvent (synchronous, never re-entered). */
const scratch = new ByteWriter(4096);

/** Writes the body of `e` (everything but its kind) into `w`. */
export function writeEventBody(w: ByteWriter, e: StoreEvent): void {
  switch (e.kind) {
    case EventKind.ServerInit:
      w.string(e.clusterID);
      w.string(e.discovery);
      w.string(e.publish);
      w.string(e.subscribe);
      w.string(e.unsubscribe);
      w.string(e.close);
      w.string(e.subClose);
      w.string(e.acksSubs);
      return;
    case EventKind.ClientConnected:
      w.string(e.clientID);
      w.string(e.hbInbox);
      w.bytes(e.connID);
      w.sint(e.protocol);
      w.sint(e.pingInterval);
      w.sint(e.pingMaxOut);
      return;
    case EventKind.ClientClosed:
      w.string(e.clientID);
      return;
    case EventKind.ChannelCreated:
      w.uint(e.channelID);
      w.string(e.name);
      return;
    case EventKind.ChannelDeleted:
      w.uint(e.channelID);
      return;
    case EventKind.SubCreated:
    case EventKind.SubUpdated:
      w.uint(e.channelID);
      writeSubState(w, e.sub);
      return;
    case EventKind.SubDeleted:
      w.uint(e.channelID);
      w.uint(e.subID);
      return;
    case EventKind.SubPositionReset:
      w.uint(e.channelID);
      w.uint(e.subID);
      w.uint(e.lastSent);
      return;
    case EventKind.MsgsSent:
    case EventKind.MsgsAcked:
      w.uint(e.channelID);
      w.uint(e.subID);
      w.seqs(e.seqs);
      return;
    case EventKind.MsgRedelivered:
    case EventKind.MsgDeadLettered:
      w.uint(e.channelID);
      w.uint(e.subID);
      w.uint(e.seq);
      w.uint(e.kind === EventKind.MsgRedelivered ? e.count : e.deliveries);
      return;
    case EventKind.MsgsExpired:
      w.uint(e.channelID);
      w.uint(e.firstSeq);
      w.uint(e.removedMsgs);
      w.uint(e.removedBytes);
      w.uint(e.lastSeq);
      w.uint(e.msgCount);
      w.uint(e.byteCount);
      return;
    case EventKind.MsgStored:
      w.uint(e.channelID);
      w.uint(e.seq);
      w.uint(e.timestamp);
      w.uint(e.size);
      return;
    default: {
      const never: never = e;
      throw new Error(`unknown event kind ${(never as { kind: unknown }).kind}`);
    }
  }
}

export function encodeEvent(e: StoreEvent): Buffer {
  scratch.reset();
  writeEventBody(scratch, e);
  return scratch.finish();
}

/** Reads a body written by writeEventBody; trailing unknown bytes are ignored (see top). */
export function readEventBody(kind: EventKind, r: ByteReader): StoreEvent {
  switch (kind) {
    case EventKind.ServerInit:
      return {
        kind,
        clusterID: r.string(),
        discovery: r.string(),
        publish: r.string(),
        subscribe: r.string(),
        unsubscribe: r.string(),
        close: r.string(),
        subClose: r.string(),
        acksSubs: r.string(),
      };
    case EventKind.ClientConnected:
      return {
        kind,
        clientID: r.string(),
        hbInbox: r.string(),
        connID: r.bytes(),
        protocol: r.int32(),
        pingInterval: r.int32(),
        pingMaxOut: r.int32(),
      };
    case EventKind.ClientClosed:
      return { kind, clientID: r.string() };
    case EventKind.ChannelCreated:
      return { kind, channelID: r.uint(), name: r.string() };
    case EventKind.ChannelDeleted:
      return { kind, channelID: r.uint() };
    case EventKind.SubCreated:
    case EventKind.SubUpdated:
      return { kind, channelID: r.uint(), sub: readSubState(r) };
    case EventKind.SubDeleted:
      return { kind, channelID: r.uint(), subID: r.uint() };
    case EventKind.SubPositionReset:
      return { kind, channelID: r.uint(), subID: r.uint(), lastSent: r.uint() };
    case EventKind.MsgsSent:
    case EventKind.MsgsAcked:
      return { kind, channelID: r.uint(), subID: r.uint(), seqs: r.seqs() };
    case EventKind.MsgRedelivered:
      return { kind, channelID: r.uint(), subID: r.uint(), seq: r.uint(), count: r.uint() };
    case EventKind.MsgDeadLettered:
      return { kind, channelID: r.uint(), subID: r.uint(), seq: r.uint(), deliveries: r.uint() };
    case EventKind.MsgsExpired:
      return {
        kind,
        channelID: r.uint(),
        firstSeq: r.uint(),
        removedMsgs: r.uint(),
        removedBytes: r.uint(),
        lastSeq: r.uint(),
        msgCount: r.uint(),
        byteCount: r.uint(),
      };
    case EventKind.MsgStored:
      return { kind, channelID: r.uint(), seq: r.uint(), timestamp: r.uint(), size: r.uint() };
    default:
      throw new EventDecodeError(`unknown event kind ${String(kind)}`);
  }
}

export function decodeEvent(kind: EventKind, body: Uint8Array): StoreEvent {
  return readEventBody(kind, new ByteReader(body, `event (kind ${String(kind)})`));
}
