/**
 * A channel's first message whose timestamp reaches a bound, found without an index on the
 * timestamp (migration 0004 dropped `(channel_id, ts)`): start-at-time subscriptions and the
 * max_age expiry of recovered messages.
 *
 * Both searches rely on one property: **timestamps never decrease along a channel's
 * sequence**. The server clamps every timestamp it assigns to the channel's last one (the
 * publish path, dead letters, the admin republish: src/stan/publish.ts `record`) and restores
 * that last one from the newest row at start-up; the MEMORY store's search relies on it too.
 * Imported channels keep the reference server's timestamps, which its own memory and file
 * stores search the same way (a binary search, or file slices by their first and last ones).
 * If some did decrease, the answer is still a sequence where the order holds locally (a
 * message at or after the bound whose predecessor is before it), as it is on the reference.
 */
import type { HotRing } from '../limits/hot-ring';
import { firstReaching } from '../limits/first-reaching';

/** A stored row's sequence and timestamp. */
export type RowStamp = { seq: number; ts: number };

/** The first stored row at or after `from` and below `end`. */
export type RowProbe = (from: number, end: number) => Promise<RowStamp | undefined>;

/**
 * The stored row of smallest sequence in [from, end) whose timestamp satisfies `reached` (a
 * predicate that, once true along the sequence, stays true), or undefined when none does.
 * A binary search on the sequence through the primary key `(channel_id, seq)`: each probe is
 * one index seek, O(log(end - from)) probes. Missing rows (a refused message's gap, rows not
 * committed yet) are stepped over by the probe's "first row at or after".
 */
export async function firstStoredReaching(probe: RowProbe, from: number, end: number, reached: (ts: number) => boolean): Promise<RowStamp | undefined> {
  let lo = from;
  let hi = end;
  let best: RowStamp | undefined;
  // Invariant: every row below lo is not reached; the answer is best or a row in [lo, hi).
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const row = await probe(mid, hi);
    if (row === undefined) hi = mid;
    else if (reached(row.ts)) {
      // No row between mid and row.seq: an earlier answer can only be below mid.
      best = row;
      hi = mid;
    } else lo = row.seq + 1;
  }
  return best;
}

/**
 * The same search over the hot ring's timestamps (messages stored since start, in memory,
 * contiguous): the smallest sequence in [from, end) that reaches, or undefined. The caller
 * keeps [from, end) within the ring.
 */
export function firstHotReaching(hot: HotRing, from: number, end: number, reached: (ts: number) => boolean): number | undefined {
  const seq = firstReaching(from, end, (s) => reached(hot.ts(s)));
  return seq < end ? seq : undefined;
}
