/**
 * The subscriptions a channel reports (monitoring, metrics, counts): online plain and durable
 * subscriptions, offline durables, queue members, and a durable queue group's shadow while
 * the group has no member. One walk, so that every count agrees.
 */
import type { Channel, Subscription } from './state';

export function* channelSubscriptions(ch: Channel): Generator<Subscription> {
  yield* ch.plainSubs;
  for (const d of ch.durables.values()) if (d.isOffline && !ch.plainSubs.has(d)) yield d;
  for (const g of ch.queues.values()) {
    yield* g.members;
    if (g.shadow && g.members.length === 0) yield g.shadow;
  }
}

export function countSubscriptions(channels: Iterable<Channel>): number {
  let n = 0;
  for (const ch of channels) for (const _ of channelSubscriptions(ch)) n++;
  return n;
}
