/**
 * The reference's notice when max_msgs or max_bytes first makes a channel drop its oldest
 * messages: logged once per channel (until the channel is recreated or the server restarts),
 * at notice level with a "WARNING:" prefix, whatever the store. Expiry by max_age is not
 * reported, as in the reference.
 *
 * The rule lives here, next to the publish path, rather than in each store: every store
 * enforces the count/bytes limits synchronously inside `MsgStore.store()`, so comparing the
 * first sequence before and after that call tells, for any store, that messages were dropped.
 */
import type { Logger } from '../logging/logger';
import type { ChannelLimits } from '../config/options';
import { formatFriendlyBytes } from '../store/format';
import type { Channel } from './state';

/** The reference's wording; counts are the channel's after the drop, limits 0 when unlimited. */
export function limitReachedNotice(channel: string, msgCount: number, byteCount: number, limits: ChannelLimits): string {
  const maxMsgs = Math.max(0, limits.maxMsgs);
  const maxBytes = Math.max(0, limits.maxBytes);
  return (
    `WARNING: Reached limits for store ${JSON.stringify(channel)} (msgs=${msgCount}/${maxMsgs} ` +
    `bytes=${formatFriendlyBytes(byteCount)}/${formatFriendlyBytes(maxBytes)}), dropping old messages to make room for new ones`
  );
}

/**
 * Read before storing a message: the channel's first sequence, or 0 when nothing can be
 * dropped (empty channel) or the notice was already given (nothing to compare then).
 */
export function firstSeqBeforeStore(ch: Channel): number {
  const msgs = ch.store.msgs;
  return ch.limitWarned || msgs.msgCount === 0 ? 0 : msgs.firstSeq;
}

/** Called after storing: logs the notice if the store just dropped messages for the first time. */
export function noticeIfLimitReached(ch: Channel, firstBefore: number, log: Logger): void {
  const msgs = ch.store.msgs;
  if (firstBefore === 0 || msgs.firstSeq <= firstBefore) return;
  ch.limitWarned = true;
  log.notice(limitReachedNotice(ch.name, msgs.msgCount, msgs.byteCount, ch.store.limits));
}
