/**
 * The byte primitives of the event and snapshot formats (./event-codec, ./snapshot): a
 * growable writer and a bounds-checked reader of varints, fixed-width numbers and
 * length-prefixed UTF-8 strings. Their own module so that each format file holds only its
 * layout.
 */
import { isAscii } from 'node:buffer';
import { StanServerError } from '../../errors';
import { readVarint, VARINT_TRUNCATED, varintEnd } from '../../protocol/varint';

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
  /**
   * The whole body is ASCII (checked once by `withText`): every string is then a slice of
   * `text` without the per-byte scan, ~7 million byte tests for 60,000 subscriptions.
   */
  private allAscii = false;

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
    r.allAscii = isAscii(r.buf);
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
    const v = readVarint(this.buf, this.pos, this.buf.length);
    if (v === VARINT_TRUNCATED) this.truncated();
    if (v < 0) throw new EventDecodeError(`${this.what}: varint longer than 10 bytes at byte ${this.pos}`);
    this.pos = varintEnd.pos;
    return v;
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
    if (this.allAscii) {
      this.pos = end;
      return len === 0 ? '' : (this.text as string).slice(start, end);
    }
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

  /** Consumes an empty sequence list (a zero count) and returns true; else reads nothing. */
  noSeqs(): boolean {
    if (this.pos < this.buf.length && this.buf[this.pos] === 0) {
      this.pos++;
      return true;
    }
    return false;
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
