/**
 * Sizes and timestamps of a channel's messages stored since start ("hot"), contiguous in
 * sequence: a growable ring indexed by seq - start, so appending and dropping the oldest are
 * O(1) (12 bytes per message). Older ("cold") messages, recovered from the database, are not
 * tracked: their sizes are estimated for max_bytes and their age asked of the database.
 */
export class HotRing {
  start = 0;
  len = 0;
  /** Sum of the sizes held. */
  bytes = 0;
  private head = 0;
  private sizes = new Uint32Array(16);
  private stamps = new Float64Array(16);

  get end(): number {
    return this.start + this.len;
  }

  push(seq: number, size: number, ts: number): void {
    if (this.len === 0) {
      this.start = seq;
      this.head = 0;
    } else if (seq !== this.end) {
      // A gap (not produced by the server): restart the ring at this message.
      this.len = 0;
      this.bytes = 0;
      this.start = seq;
      this.head = 0;
    }
    if (this.len === this.sizes.length) this.grow();
    const i = (this.head + this.len) & (this.sizes.length - 1);
    this.sizes[i] = size;
    this.stamps[i] = ts;
    this.len++;
    this.bytes += size;
  }

  private grow(): void {
    const n = this.sizes.length * 2;
    const sizes = new Uint32Array(n);
    const stamps = new Float64Array(n);
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + k) & (this.sizes.length - 1);
      sizes[k] = this.sizes[i];
      stamps[k] = this.stamps[i];
    }
    this.sizes = sizes;
    this.stamps = stamps;
    this.head = 0;
  }

  has(seq: number): boolean {
    return this.len > 0 && seq >= this.start && seq < this.end;
  }
  size(seq: number): number {
    return this.sizes[(this.head + seq - this.start) & (this.sizes.length - 1)];
  }
  ts(seq: number): number {
    return this.stamps[(this.head + seq - this.start) & (this.sizes.length - 1)];
  }

  /** Sets the size of `seq` (held) to 0, returning the size it had. */
  clear(seq: number): number {
    const i = (this.head + seq - this.start) & (this.sizes.length - 1);
    const size = this.sizes[i];
    this.sizes[i] = 0;
    this.bytes -= size;
    return size;
  }

  /** Forgets every sequence below `seq`. */
  dropBelow(seq: number): void {
    if (this.len === 0 || seq <= this.start) return;
    const n = Math.min(this.len, seq - this.start);
    for (let k = 0; k < n; k++) this.bytes -= this.sizes[(this.head + k) & (this.sizes.length - 1)];
    this.head = (this.head + n) & (this.sizes.length - 1);
    this.len -= n;
    this.start += n;
    if (this.len === 0) this.start = seq;
  }
}
