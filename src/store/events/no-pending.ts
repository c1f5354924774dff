/**
 * The pending set of every projected subscription with nothing pending: an empty Set per
 * subscription was 60,000 Sets and their hash tables (~11 MB) in the state recovered with
 * 60,000 durables, all copied by the garbage collector at start-up (docs/performance.md,
 * "Restart"). Never added to: the projection's MsgsSent gives a subscription its own set
 * first (projection.ts).
 */
export const NO_PENDING: ReadonlySet<number> = new Set<number>();

/** The shared empty set, typed as SubProjection.pending is. */
export function noPending(): Set<number> {
  return NO_PENDING as Set<number>;
}
