/**
 * The publishes of one commit group (commit-pipeline.ts), column by column, with each
 * publisher's OK PubAck already encoded when the publish is added.
 *
 * Why columns and one byte buffer: per publish the pipeline used to keep an object, a Buffer
 * view of the guid (a typed-array object), and at settle time a new Buffer for the PubAck
 * (another one). At 100–200k publishes a second those are the publish path's own garbage.
 * Here a publish costs three array slots and its PubAck's bytes in the group's buffer; the
 * PubAck handed to the transport is one view of that buffer.
 *
 * The buffer is never written again once views of it were handed out (settle runs once, and a
 * reopened group gets a new buffer), so transports that keep the view until their flush stay
 * valid.
 *
 * The columns are kept when a settled group is reopened for a later burst (commit-pipeline.ts
 * keeps a few), and a new group's are made at the size of the previous group: growing four
 * arrays from empty by pushes, group after group, cost ~100 bytes of garbage per publish
 * (measured in isolation, 150–500 publishes per group), a fifth of the publish path's
 * young-generation garbage on MEMORY. Only indexes below `length` hold publishes. A group is
 * `release()`d when it is kept for reuse, so that a kept group names no channel: a channel
 * deleted meanwhile (max_inactivity, the admin API) would otherwise stay reachable from it with
 * all its stored messages until a later burst overwrote the slot.
 */
import { varintSize, writeVarint } from '../protocol/fast';
import type { Channel } from './state';

const FIRST_BYTES = 256;
const FIRST_COUNT = 16;

export class AckGroup {
  readonly channels: Channel[];
  readonly seqs: number[];
  readonly ackSubjects: Array<string | undefined>;
  /** PubAck{guid} of publish i at bytes[bounds[i] .. bounds[i + 1]) (bounds[0] = 0). */
  private bytes: Buffer;
  private readonly bounds: number[];
  private used = 0;
  private count = 0;

  /**
   * `sizeHint`: bytes the previous group used, `countHint`: its publishes (groups of a steady
   * load are alike: no regrowing).
   */
  constructor(sizeHint = 0, countHint = 0) {
    this.bytes = Buffer.allocUnsafe(sizeHint > FIRST_BYTES ? sizeHint : FIRST_BYTES);
    const n = countHint > FIRST_COUNT ? countHint : FIRST_COUNT;
    this.channels = new Array<Channel>(n);
    this.seqs = new Array<number>(n);
    this.ackSubjects = new Array<string | undefined>(n);
    this.bounds = new Array<number>(n + 1);
    this.bounds[0] = 0;
  }

  /**
   * Empties a settled group for a new burst, keeping its columns. The PubAck buffer is a new
   * one: views of the old one may still wait in transports' write queues.
   */
  reopen(sizeHint: number): this {
    this.bytes = Buffer.allocUnsafe(sizeHint > FIRST_BYTES ? sizeHint : FIRST_BYTES);
    this.used = 0;
    this.count = 0;
    return this;
  }

  /**
   * Drops the settled group's references to its channels and ack subjects (the columns keep
   * their size). The group is empty afterwards; `reopen` makes it usable again.
   */
  release(): void {
    // Entries at or above `length` are never read, so undefined there is safe; the column's
    // type says what every read (below `length`) finds.
    const channels = this.channels as Array<Channel | undefined>;
    for (let i = 0; i < this.count; i++) {
      channels[i] = undefined;
      this.ackSubjects[i] = undefined;
    }
    this.count = 0;
  }

  /** Bytes of PubAcks held (the next group's size hint). */
  get usedBytes(): number {
    return this.used;
  }

  get length(): number {
    return this.count;
  }

  /** Adds a publish whose guid is src[start, end) (copied: src is the transport's buffer). */
  add(channel: Channel, seq: number, src: Uint8Array, start: number, end: number, ackSubject: string | undefined): void {
    // Index `count` is within the columns' size, or just past it (the array then grows as by push).
    const k = this.count++;
    this.channels[k] = channel;
    this.seqs[k] = seq;
    this.ackSubjects[k] = ackSubject;
    const len = end - start;
    const need = 1 + varintSize(len) + len;
    if (this.used + need > this.bytes.length) this.grow(need);
    const b = this.bytes;
    // The PubAck's wire form (proto3: field 1, length-delimited, the guid's bytes).
    b[this.used] = 0x0a;
    const p = writeVarint(b, this.used + 1, len);
    // Four bytes per iteration: typed-array element accesses are not cheap on this Node (a byte
    // loop took 80–140 ns for 40 bytes in isolation, about twice an unrolled one). The same
    // loop is in client-outbound.ts on purpose: one shared function, called with Buffers and
    // plain Uint8Arrays from both places, measured 2–6% slower (MEMORY async/4 publishers,
    // 3 alternated rounds: its element accesses see several receiver maps).
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      b[p + i] = src[start + i];
      b[p + i + 1] = src[start + i + 1];
      b[p + i + 2] = src[start + i + 2];
      b[p + i + 3] = src[start + i + 3];
    }
    for (; i < len; i++) b[p + i] = src[start + i];
    this.used = p + len;
    this.bounds[k + 1] = p + len;
  }

  /** The encoded OK PubAck of publish i (a view of the group's buffer). */
  okPubAck(i: number): Buffer {
    return this.bytes.subarray(this.bounds[i], this.bounds[i + 1]);
  }

  /**
   * The buffer holding the OK PubAcks: publish i's is at [okBounds[i], okBounds[i + 1]) (for
   * transports that take ranges: no view per PubAck). Never written again once settled.
   */
  get okBytes(): Buffer {
    return this.bytes;
  }

  get okBounds(): readonly number[] {
    return this.bounds;
  }

  /** The guid of publish i as text (for error PubAcks). */
  guid(i: number): string {
    const start = this.bounds[i];
    const end = this.bounds[i + 1];
    // Skip the tag and the length varint.
    let p = start + 1;
    while (this.bytes[p] >= 0x80) p++;
    return this.bytes.toString('utf8', p + 1, end);
  }

  private grow(need: number): void {
    let size = this.bytes.length * 2;
    while (size < this.used + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.bytes.copy(next, 0, 0, this.used);
    this.bytes = next;
  }
}
