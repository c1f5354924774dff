/**
 * How many bytes of SharedArrayBuffer chunks the message rings of this process may hold
 * before the garbage collector has collected them (msg-ring.ts, `growShared`).
 *
 * Why a budget: V8 does not count a shared chunk's bytes as external memory, which is why a
 * growing MEMORY store triggers no memory-reducing collections (docs/performance.md, "The
 * publish path, round 3"), and also why a released shared chunk is garbage V8 does not know
 * about. One ring holds shared chunks only until its first release, but channels created and
 * deleted again and again start new rings: a review measured 2.2 GB of peak RSS against 228 MB
 * for 200 rings of 50 MB filled and dropped. Chunks are counted from allocation until the
 * collector finalizes them; past the budget, rings grow in ordinary chunks.
 */
export class SharedChunkBudget {
  private outstanding = 0;
  private readonly collected = new FinalizationRegistry<number>((bytes) => {
    this.outstanding -= bytes;
  });

  constructor(readonly limitBytes: number) {}

  /** Bytes of shared chunks allocated and not yet collected. */
  get bytes(): number {
    return this.outstanding;
  }

  /** A shared chunk of `n` bytes, or undefined when it would exceed the budget. */
  take(n: number): Buffer | undefined {
    if (this.outstanding + n > this.limitBytes) return undefined;
    const sab = new SharedArrayBuffer(n);
    this.outstanding += n;
    this.collected.register(sab, n);
    return Buffer.from(sab);
  }
}

/**
 * The process's budget: 128 MB, a store's first ~800,000 messages of 128 bytes (the growth
 * where the collections were measured) while bounding what V8 cannot see.
 */
export const sharedChunkBudget = new SharedChunkBudget(128 * 1024 * 1024);
