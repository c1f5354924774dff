/**
 * A FIFO of encoded messages (oldest first, consecutive sequences) kept in a few large byte
 * chunks instead of one Buffer object per message.
 *
 * Why: one Buffer per stored message cost ~340 bytes of RSS for a 160-byte MsgProto on Node 20
 * (measured with 100k stored 128-byte messages, docs/performance.md): the JS typed-array object
 * and its slot in an Array on the V8 heap, plus the 8 KB allocation pool each small Buffer is
 * cut from, which stays alive while any slice of it does (so PubAcks and other short-lived
 * buffers cut from the same pool are retained with the message). Here a message costs its
 * bytes plus 20 bytes of typed-array index (chunk number, offset, size, timestamp).
 *
 * Chunks are appended and dropped in order; a chunk is released as soon as no held message
 * lies in it. Chunks grow with the bytes held (a quarter of them, 1 KB to 256 KB), so a channel
 * with a few messages holds a few KB, and a large channel wastes at most one chunk's tail. A
 * chunk is never reused: a view handed out (a message being delivered) stays valid until the
 * garbage collector finds it unused.
 *
 * Slots may be gaps (no message: size GAP), so that an index stays seq - first.
 *
 * `growShared` (the MEMORY store, which keeps every message): chunks are SharedArrayBuffers
 * until the ring first releases one. V8 counts an ordinary ArrayBuffer's bytes as external
 * memory and, when they grow by tens of MB, runs a memory-reducing full GC and then keeps the
 * old generation's limit so tight that incremental marking runs after nearly every scavenge;
 * a store growing by 30 MB/s caused a mark-compact every ~100 ms (12–19 per 600,000 async
 * publishes, ~0.1–0.2 µs per message; none with -mm 10000, docs/performance.md "The publish
 * path, round 3"). A SharedArrayBuffer's bytes are not counted (V8 does not count shared
 * backing stores per isolate), so a growing store triggers nothing. The cost: a released
 * shared chunk is memory V8 does not know is garbage, freed only by the next full GC that
 * runs for other reasons. Hence only while the ring grows: once it releases a chunk (limits,
 * purge, expiry) its new chunks are ordinary again; and across all rings (channels created
 * and deleted start new ones) only within a process-wide budget of shared bytes not yet
 * collected (shared-chunk-budget.ts), past which chunks are ordinary.
 */
import { type SharedChunkBudget } from './shared-chunk-budget';

const MIN_CHUNK = 1024;
const MAX_CHUNK = 256 * 1024;
const MIN_SLOTS = 16;
/** Size of a gap slot. */
const GAP = -1;

export class MsgRing {
  /** Slots held (messages and gaps). */
  len = 0;
  /** Sum of the sizes of the messages held. */
  bytes = 0;
  private head = 0;
  private chunkNo = new Uint32Array(MIN_SLOTS);
  private offs = new Uint32Array(MIN_SLOTS);
  private sizes = new Int32Array(MIN_SLOTS);
  private stamps = new Float64Array(MIN_SLOTS);
  /** Chunks still holding messages; chunks[i] is chunk number firstChunk + i. */
  private chunks: Buffer[] = [];
  private firstChunk = 0;
  private used = 0;
  /** New chunks are SharedArrayBuffers (see the file comment): until the first release. */
  private shared: boolean;
  private readonly budget: SharedChunkBudget | undefined;

  constructor(opts: { growShared?: SharedChunkBudget } = {}) {
    this.budget = opts.growShared;
    this.shared = this.budget !== undefined;
  }

  /** Bytes of chunk memory held (for tests and monitoring of the overhead). */
  get chunkBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /**
   * Appends a message of `size` bytes and returns the chunk to write it into, at `lastOffset`.
   * The caller must write exactly `size` bytes there before any other call.
   */
  append(size: number, ts: number): Buffer {
    let cur = this.chunks.length > 0 ? this.chunks[this.chunks.length - 1] : undefined;
    if (cur === undefined || this.used + size > cur.length) {
      const want = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, 2 ** Math.ceil(Math.log2(Math.max(1, this.bytes / 4)))));
      // allocUnsafeSlow: a chunk of its own, not a slice of Node's shared pool.
      const n = Math.max(size, want);
      cur = (this.shared ? this.budget?.take(n) : undefined) ?? Buffer.allocUnsafeSlow(n);
      this.chunks.push(cur);
      this.used = 0;
    }
    const i = this.slot();
    this.chunkNo[i] = this.firstChunk + this.chunks.length - 1;
    this.offs[i] = this.used;
    this.sizes[i] = size;
    this.stamps[i] = ts;
    this.lastOffset = this.used;
    this.used += size;
    this.bytes += size;
    return cur;
  }

  /** Where the last append's bytes go in the chunk it returned. */
  lastOffset = 0;

  /** Appends a slot with no message (a sequence gap), with the timestamp it reports. */
  appendGap(ts: number): void {
    const i = this.slot();
    this.chunkNo[i] = this.firstChunk + Math.max(0, this.chunks.length - 1);
    this.offs[i] = this.used;
    this.sizes[i] = GAP;
    this.stamps[i] = ts;
  }

  /** Message k (0 = oldest) as a view into its chunk, or undefined for a gap. */
  bytesAt(k: number): Buffer | undefined {
    const i = (this.head + k) & (this.sizes.length - 1);
    const size = this.sizes[i];
    if (size === GAP) return undefined;
    const off = this.offs[i];
    return this.chunks[this.chunkNo[i] - this.firstChunk].subarray(off, off + size);
  }

  /** Size of slot k, GAP (-1) for a gap. */
  sizeAt(k: number): number {
    return this.sizes[(this.head + k) & (this.sizes.length - 1)];
  }

  tsAt(k: number): number {
    return this.stamps[(this.head + k) & (this.sizes.length - 1)];
  }

  /** Turns slot k into a gap (its bytes no longer count; its chunk is released in order). */
  clearAt(k: number): void {
    const i = (this.head + k) & (this.sizes.length - 1);
    if (this.sizes[i] === GAP) return;
    this.bytes -= this.sizes[i];
    this.sizes[i] = GAP;
  }

  /** Drops the oldest slot, returning its size (GAP for a gap). */
  shift(): number {
    const mask = this.sizes.length - 1;
    const size = this.sizes[this.head];
    if (size !== GAP) this.bytes -= size;
    this.head = (this.head + 1) & mask;
    this.len--;
    if (this.len === 0) {
      this.clear();
      return size;
    }
    // Release the chunks before the new oldest slot's chunk.
    const drop = this.chunkNo[this.head] - this.firstChunk;
    if (drop > 0) {
      this.shared = false;
      this.chunks.splice(0, drop);
      this.firstChunk += drop;
    }
    this.maybeShrink();
    return size;
  }

  /** Forgets everything (chunks released). */
  clear(): void {
    if (this.chunks.length > 0) this.shared = false;
    this.len = 0;
    this.bytes = 0;
    this.head = 0;
    this.chunks = [];
    this.firstChunk = 0;
    this.used = 0;
    if (this.sizes.length > MIN_SLOTS) this.resize(MIN_SLOTS);
  }

  /** Index of a new slot at the tail (grows the index when full). */
  private slot(): number {
    if (this.len === this.sizes.length) this.resize(this.sizes.length * 2);
    const i = (this.head + this.len) & (this.sizes.length - 1);
    this.len++;
    return i;
  }

  /** Gives index memory back once a quarter or less is used; capacities stay powers of two. */
  private maybeShrink(): void {
    let cap = this.sizes.length;
    if (cap <= 1024 || this.len > cap / 4) return;
    while (cap > 1024 && this.len <= cap / 4) cap /= 2;
    this.resize(cap);
  }

  private resize(cap: number): void {
    const mask = this.sizes.length - 1;
    const chunkNo = new Uint32Array(cap);
    const offs = new Uint32Array(cap);
    const sizes = new Int32Array(cap);
    const stamps = new Float64Array(cap);
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + k) & mask;
      chunkNo[k] = this.chunkNo[i];
      offs[k] = this.offs[i];
      sizes[k] = this.sizes[i];
      stamps[k] = this.stamps[i];
    }
    this.chunkNo = chunkNo;
    this.offs = offs;
    this.sizes = sizes;
    this.stamps = stamps;
    this.head = 0;
  }
}

export const MSG_RING_GAP = GAP;
