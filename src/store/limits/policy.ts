/**
 * The count/bytes limit rule every store applies after storing a message (spec §6.1): drop
 * the oldest messages while either limit is exceeded, but always keep the newest one, even
 * if it alone exceeds max_bytes. (Both limits shrink monotonically with the dropped prefix,
 * so dropping while either holds gives the shortest prefix that satisfies both.)
 */
import type { ChannelLimits } from '../../config/options';

export function exceedsCountLimits(count: number, bytes: number, limits: Pick<ChannelLimits, 'maxMsgs' | 'maxBytes'>): boolean {
  if (count <= 1) return false;
  return (limits.maxMsgs > 0 && count > limits.maxMsgs) || (limits.maxBytes > 0 && bytes > limits.maxBytes);
}
