/**
 * The newest messages of a SQL/FILE channel, kept in memory so that live delivery never reads
 * the database: consecutive sequences in a MsgRing (one byte chunk per ~quarter of what is
 * held, not one Buffer per message; see limits/msg-ring.ts), bounded by a count and by bytes
 * whatever the message sizes, so the server's memory does not grow with the stored count.
 */
import type { StoredMsg } from '../contract';
import { MsgRing } from '../limits/msg-ring';

/** Recent messages kept in memory per channel so live delivery never reads the database. */
const CACHE_MSGS = 4096;
const CACHE_BYTES = 8 * 1024 * 1024;

export class HotCache {
  private readonly ring = new MsgRing();
  /** Sequence of the ring's slot 0. */
  private first = 0;

  constructor(
    private readonly maxMsgs = CACHE_MSGS,
    private readonly maxBytes = CACHE_BYTES,
  ) {}

  /**
   * Room for message `seq` (the newest) of `size` bytes: returns the chunk to encode it into,
   * at `lastOffset`. Evicts the oldest messages beyond the bounds (always keeps this one).
   */
  add(seq: number, ts: number, size: number): Buffer {
    const ring = this.ring;
    const next = this.first + ring.len;
    if (ring.len === 0 || seq < next || seq - next > this.maxMsgs) {
      // Empty, or not following the newest (not produced by the server): start again here.
      ring.clear();
      this.first = seq;
    } else {
      for (let s = next; s < seq; s++) ring.appendGap(ts);
    }
    const chunk = ring.append(size, ts);
    this.lastOffset = ring.lastOffset;
    while (ring.len > this.maxMsgs || (ring.bytes > this.maxBytes && ring.len > 1)) this.shift();
    return chunk;
  }

  /** Where the last add's bytes go. */
  lastOffset = 0;

  get(seq: number): StoredMsg | undefined {
    const k = seq - this.first;
    if (k < 0 || k >= this.ring.len) return undefined;
    const bytes = this.ring.bytesAt(k);
    return bytes === undefined ? undefined : { seq, timestamp: this.ring.tsAt(k), bytes };
  }

  /** Forgets message `seq` (refused by the database). */
  remove(seq: number): void {
    const k = seq - this.first;
    if (k >= 0 && k < this.ring.len) this.ring.clearAt(k);
  }

  /** Forgets every message below `seq`. */
  dropBelow(seq: number): void {
    while (this.ring.len > 0 && this.first < seq) this.shift();
  }

  clear(): void {
    this.ring.clear();
  }

  private shift(): void {
    this.ring.shift();
    this.first++;
  }
}
