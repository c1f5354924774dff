/**
 * The limit rules every store applies.
 *
 * Count/bytes: the rule every store applies after storing a message (spec §6.1): drop
 * the oldest messages while either limit is exceeded, but always keep the newest one, even
 * if it alone exceeds max_bytes. (Both limits shrink monotonically with the dropped prefix,
 * so dropping while either holds gives the shortest prefix that satisfies both.)
 */
import type { ChannelLimits } from '../../config/options';

export function exceedsCountLimits(count: number, bytes: number, limits: Pick<ChannelLimits, 'maxMsgs' | 'maxBytes'>): boolean {
  if (count <= 1) return false;
  return (limits.maxMsgs > 0 && count > limits.maxMsgs) || (limits.maxBytes > 0 && bytes > limits.maxBytes);
}

/**
 * The max_age rule (spec: a timer removes messages older than max_age): a message is expired
 * once its age has reached max_age, i.e. its timestamp is at or below the cutoff
 * `now - max_age`. The MEMORY store, the SQL/FILE store (in memory and in its SQL query) and
 * the importer's reading of reference stores (bigint, its own copy of this comparison) agree.
 * Returns the cutoff in ns for a max_age in ms; messages with `ts <= cutoff` are expired.
 */
export function ageCutoffNs(nowNs: number, maxAgeMs: number): number {
  return nowNs - maxAgeMs * 1e6;
}

/** True when a message stamped `tsNs` is expired at `cutoffNs` (see ageCutoffNs). */
export function isAgeExpired(tsNs: number, cutoffNs: number): boolean {
  return tsNs <= cutoffNs;
}
