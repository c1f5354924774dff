/**
 * Applies what the store recovered (spec §3.8) to the runtime state, and redelivers the
 * recovered pending messages once the server serves.
 *
 * The clean-up rule for subscriptions whose client did not come back (drop plain ones, keep
 * durables offline, queue groups as their shadow) lives in one place: the projection's
 * recovery (store/events/to-recovered.ts toRecovered), which also records its decisions in the log.
 * What arrives here is already cleaned up: every subscription is online, an offline durable
 * (isClosed) or a durable queue group's shadow (clientID "").
 */
import type { RecoveredState } from '../store/contract';
import type { SubState } from '../protocol/codec';
import type { Channels } from './channels';
import type { Clients } from './clients';
import type { CoreContext } from './context';
import type { Delivery } from './delivery';
import type { SubscriptionHandler } from './subscribe';
import { durableKey, QueueGroup, Subscription, type Channel } from './state';

export class Recovery {
  constructor(
    private readonly ctx: CoreContext,
    private readonly clients: Clients,
    private readonly channels: Channels,
    private readonly subs: SubscriptionHandler,
    private readonly delivery: Delivery,
  ) {}

  /** Registers the recovered clients, channels and subscriptions. */
  apply(state: RecoveredState): void {
    for (const ci of state.clients) this.clients.register(ci);
    for (const rc of state.channels) {
      const ch = this.channels.add(rc.channel);
      if (rc.deadLettered) this.ctx.stats.deadLettered.set(ch.name, rc.deadLettered);
      for (const rs of rc.subs) this.restoreSub(ch, rs.state, rs.pending, rs.redeliveries);
    }
  }

  private restoreSub(ch: Channel, st: SubState, pending: readonly number[], redeliveries: ReadonlyMap<number, number> | undefined): void {
    const sub = new Subscription(st, ch);
    for (const seq of pending) sub.acksPending.set(seq, 0);
    const client = st.clientID !== '' && !st.isClosed ? this.clients.byID.get(st.clientID) : undefined;
    const online = client !== undefined;
    if (st.qGroup) {
      let g = ch.queues.get(st.qGroup);
      if (!g) {
        g = new QueueGroup(st.qGroup, st.isDurable, st.lastSent);
        ch.queues.set(st.qGroup, g);
      }
      if (st.lastSent > g.lastSent) g.lastSent = st.lastSent;
      sub.group = g;
      restoreCounts(sub, redeliveries);
      if (!online) {
        if (st.isDurable) g.shadow = sub;
        else this.notCleanedUp(ch, st);
        return;
      }
      g.members.push(sub);
    } else if (st.isDurable) {
      restoreCounts(sub, redeliveries);
      ch.durables.set(durableKey(st.clientID, ch.name, st.durableName), sub);
      if (!online) {
        sub.state.isClosed = true;
        return;
      }
      ch.plainSubs.add(sub);
    } else {
      if (!online) return this.notCleanedUp(ch, st);
      restoreCounts(sub, redeliveries);
      ch.plainSubs.add(sub);
    }
    client?.subs.add(sub);
    this.subs.attachAckInbox(sub);
  }

  /** A store that skipped the projection's clean-up rule: the subscription is not served. */
  private notCleanedUp(ch: Channel, st: SubState): void {
    this.ctx.log.warn(`Recovered subscription subid=${st.ID} of channel "${ch.name}" has no client and cannot be kept offline: ignored`);
  }

  /**
   * Recovered pending messages: expirations are unknown, so they are set from the message
   * timestamps and the expired ones redelivered before new messages flow (spec §3.5).
   */
  async redeliverRecovered(sub: Subscription): Promise<void> {
    if (sub.pendingCount === 0) return;
    sub.holdNew = true;
    // A queue group takes new messages only once all its members are done (spec §3.5).
    const g = sub.group;
    if (g) g.startupHolds++;
    try {
      for (const seq of [...sub.acksPending.keys()]) {
        const m = await sub.channel.store.msgs.lookup(seq);
        const exp = m ? Math.floor(m.timestamp / 1e6) + sub.ackWaitMs : 0;
        sub.acksPending.set(seq, exp);
      }
      await this.delivery.redeliverExpired(sub, true);
    } finally {
      sub.holdNew = false;
      if (g) g.startupHolds--;
    }
    if (g) {
      if (g.startupHolds === 0) this.delivery.pumpGroup(sub.channel, g);
    } else {
      this.delivery.pumpSub(sub);
    }
  }
}

/**
 * Redelivery counts recorded for max deliveries (docs/dead-letters.md), so a restart or an
 * FT takeover does not give a message its deliveries again. Call once the subscription's
 * group is set: a queue group counts per group, the highest count of its members wins.
 */
function restoreCounts(sub: Subscription, counts: ReadonlyMap<number, number> | undefined): void {
  if (counts === undefined) return;
  const into = sub.redeliveryCounts;
  for (const [seq, n] of counts) into.set(seq, Math.max(into.get(seq) ?? 0, n));
}
