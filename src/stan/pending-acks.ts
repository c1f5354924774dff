/**
 * A subscription's pending acknowledgements: sequence → expiration (ms since epoch; 0 =
 * unknown, a recovered entry), the part of a Map that delivery, redelivery, recovery and the
 * admin code use, with the same semantics.
 *
 * Why not a Map: a catch-up sends each message once, in order, and almost always gets the
 * acks in order; with MaxInflight 10,000 the Map held 10,000 entries that came and went at the
 * replay's rate: an entry allocated per message, the expiration a heap number, hash tables
 * rehashed as it grew and shrank (~16 MB of large-object garbage per 1,000,000 messages,
 * docs/performance.md "Catch-up, round 3"). Here the sequences of a window [lo, hi) live in a
 * ring of expirations indexed by `seq - lo` (NaN = not pending): adding the next sequence and
 * removing the oldest are array writes, nothing is allocated once the ring is large enough.
 *
 * Anything else (a sequence below the window: a message moved to this queue member from
 * another, a recovered list with gaps far apart) goes to a Map beside the ring, so every
 * order of set/delete stays correct; a window wider than MAX_SPAN (a very old unacked
 * sequence far behind new ones) moves its oldest entries to that Map instead of growing.
 */

const EMPTY = NaN;
const MIN_CAP = 16;
/** The ring never spans more sequences than this (1 MB of expirations); older entries move to the Map. */
const MAX_SPAN = 1 << 17;

export class PendingAcks {
  private exp = new Float64Array(MIN_CAP).fill(EMPTY);
  private mask = MIN_CAP - 1;
  /** Ring index of sequence `lo`. */
  private head = 0;
  /** The window [lo, hi): every present ring entry has lo ≤ seq < hi; lo is present unless the ring is empty. */
  private lo = 0;
  private hi = 0;
  private inRing = 0;
  private extra: Map<number, number> | undefined;

  get size(): number {
    return this.extra === undefined ? this.inRing : this.inRing + this.extra.size;
  }

  private slot(seq: number): number {
    return (this.head + (seq - this.lo)) & this.mask;
  }

  has(seq: number): boolean {
    if (seq >= this.lo && seq < this.hi && !Number.isNaN(this.exp[this.slot(seq)])) return true;
    return this.extra !== undefined && this.extra.has(seq);
  }

  get(seq: number): number | undefined {
    if (seq >= this.lo && seq < this.hi) {
      const v = this.exp[this.slot(seq)];
      if (!Number.isNaN(v)) return v;
    }
    return this.extra?.get(seq);
  }

  set(seq: number, expiration: number): this {
    if (seq >= this.lo && seq < this.hi) {
      const i = this.slot(seq);
      if (Number.isNaN(this.exp[i])) {
        if (this.extra !== undefined && this.extra.has(seq)) {
          this.extra.set(seq, expiration);
          return this;
        }
        this.inRing++;
      }
      this.exp[i] = expiration;
      return this;
    }
    if (this.extra !== undefined && this.extra.has(seq)) {
      this.extra.set(seq, expiration);
      return this;
    }
    if (this.inRing === 0) {
      this.lo = seq;
      this.hi = seq + 1;
      this.head = 0;
      this.exp[0] = expiration;
      this.inRing = 1;
      return this;
    }
    if (seq < this.lo) {
      (this.extra ??= new Map()).set(seq, expiration);
      return this;
    }
    this.extend(seq + 1);
    this.exp[this.slot(seq)] = expiration;
    this.inRing++;
    return this;
  }

  delete(seq: number): boolean {
    if (seq >= this.lo && seq < this.hi) {
      const i = this.slot(seq);
      if (!Number.isNaN(this.exp[i])) {
        this.exp[i] = EMPTY;
        if (--this.inRing === 0) {
          this.lo = this.hi = 0;
          this.head = 0;
        } else if (seq === this.lo) this.advanceLo();
        return true;
      }
    }
    return this.extra !== undefined && this.extra.delete(seq);
  }

  clear(): void {
    this.exp = new Float64Array(MIN_CAP).fill(EMPTY);
    this.mask = MIN_CAP - 1;
    this.head = this.lo = this.hi = this.inRing = 0;
    this.extra = undefined;
  }

  /** The pending sequences (a snapshot: the caller may change the set while walking it). */
  keys(): number[] {
    const out: number[] = [];
    for (let s = this.lo; s < this.hi; s++) if (!Number.isNaN(this.exp[this.slot(s)])) out.push(s);
    if (this.extra !== undefined) for (const s of this.extra.keys()) out.push(s);
    return out;
  }

  values(): number[] {
    return this.entries().map((e) => e[1]);
  }

  /** [sequence, expiration] pairs (a snapshot). */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let s = this.lo; s < this.hi; s++) {
      const v = this.exp[this.slot(s)];
      if (!Number.isNaN(v)) out.push([s, v]);
    }
    if (this.extra !== undefined) for (const e of this.extra.entries()) out.push(e);
    return out;
  }

  /** Moves lo up to the next present entry (there is one: inRing > 0). */
  private advanceLo(): void {
    const exp = this.exp;
    const mask = this.mask;
    let lo = this.lo;
    let head = this.head;
    do {
      lo++;
      head = (head + 1) & mask;
    } while (Number.isNaN(exp[head]));
    this.lo = lo;
    this.head = head;
  }

  /** Makes the window reach `newHi` (> hi): grows the ring, or moves the oldest entries to the Map. */
  private extend(newHi: number): void {
    if (newHi - this.lo > MAX_SPAN) {
      this.spillBelow(newHi - MAX_SPAN);
      if (this.inRing === 0) {
        this.lo = this.hi = newHi - 1;
        this.head = 0;
      }
    }
    const span = newHi - this.lo;
    if (span > this.exp.length) this.grow(span);
    // Slots between the old and the new end may hold values of sequences that left the window.
    for (let s = this.hi; s < newHi; s++) this.exp[this.slot(s)] = EMPTY;
    this.hi = newHi;
  }

  /** Moves the ring's entries below `floor` to the Map; lo then moves to the first entry left. */
  private spillBelow(floor: number): void {
    const end = Math.min(floor, this.hi);
    for (let s = this.lo; s < end; s++) {
      const i = this.slot(s);
      const v = this.exp[i];
      if (Number.isNaN(v)) continue;
      (this.extra ??= new Map()).set(s, v);
      this.exp[i] = EMPTY;
      this.inRing--;
    }
    if (this.inRing > 0 && Number.isNaN(this.exp[this.head])) this.advanceLo();
  }

  private grow(span: number): void {
    let cap = this.exp.length * 2;
    while (cap < span) cap *= 2;
    const next = new Float64Array(cap).fill(EMPTY);
    for (let s = this.lo; s < this.hi; s++) next[s - this.lo] = this.exp[this.slot(s)];
    this.exp = next;
    this.mask = cap - 1;
    this.head = 0;
  }
}
