/**
 * The binary search over timestamps that never decrease along a channel's sequence, for start
 * at time: over the MEMORY store's ring and over the SQL store's hot ring (sql/ts-search.ts).
 */

/**
 * The smallest index in [lo, hi) for which `reached` holds, or `hi` when none does; `reached`
 * must stay true once it is (false…false true…true over the range).
 */
export function firstReaching(lo: number, hi: number, reached: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (reached(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
