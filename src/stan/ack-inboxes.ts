/**
 * The NATS side of the subscriptions' ack inboxes: each live subscription's ack inbox is
 * subscribed, and `Channel.byAckInbox` holds exactly those subscriptions (the ack handler of
 * a channel finds the subscription by the subject the ack arrived on).
 *
 * Over the embedded server's in-process connection a channel's ack inboxes are one
 * SubjectGroup (nats/transport.ts) whose subjects are byAckInbox's keys: a subject costs one
 * entry in the embedded sublist and no subscription object, sid or Set entry of its own. A restart with 60,000 durables
 * subscribes 60,000 ack inboxes before it serves; one in-process subscription each was the
 * largest part of the core's recovery CPU and of its long-lived objects (docs/performance.md,
 * "Restart", fourth round). Other transports (an external nats-server, the FT gate without a
 * group) subscribe each inbox on its own, as before.
 */
import type { MsgHandler, NatsTransport, SubjectGroup } from '../nats/transport';
import type { Channel, Subscription } from './state';

export class AckInboxes {
  /** One group per channel with subscribed ack inboxes; dropped when its last inbox goes. */
  private readonly groups = new Map<Channel, SubjectGroup>();

  constructor(
    private readonly nc: NatsTransport,
    /** The channel's ack handler (one per channel). */
    private readonly handlerFor: (ch: Channel) => MsgHandler,
  ) {}

  /** Subscribes `sub`'s ack inbox (its current `state.ackInbox`) and indexes it. */
  attach(sub: Subscription): void {
    this.detach(sub);
    const ch = sub.channel;
    const inbox = sub.state.ackInbox;
    const nc = this.nc;
    if (nc.subscribeGroup === undefined) {
      sub.ackSub = nc.subscribe(inbox, this.handlerFor(ch));
    } else {
      let group = this.groups.get(ch);
      if (group === undefined) {
        // The group's subjects are byAckInbox's keys, kept in step here.
        group = nc.subscribeGroup(this.handlerFor(ch), ch.byAckInbox);
        this.groups.set(ch, group);
      }
      // An inbox shared with another subscription (never, with fresh inboxes) is in already.
      if (!ch.byAckInbox.has(inbox)) group.add(inbox);
    }
    ch.byAckInbox.set(inbox, sub);
  }

  /** Undoes attach (call before `state.ackInbox` changes); nothing when not attached. */
  detach(sub: Subscription): void {
    if (sub.ackSub !== undefined) {
      sub.ackSub.unsubscribe();
      sub.ackSub = undefined;
    }
    const ch = sub.channel;
    const inbox = sub.state.ackInbox;
    if (ch.byAckInbox.get(inbox) !== sub) return;
    ch.byAckInbox.delete(inbox);
    const group = this.groups.get(ch);
    if (group === undefined) return;
    group.delete(inbox);
    if (ch.byAckInbox.size === 0) {
      group.close();
      this.groups.delete(ch);
    }
  }

  /** Shutdown: every ack inbox unsubscribed (the runtime state is left as it is). */
  closeAll(channels: Iterable<Channel>): void {
    for (const ch of channels) {
      for (const sub of ch.byAckInbox.values()) {
        sub.ackSub?.unsubscribe();
        sub.ackSub = undefined;
      }
    }
    for (const group of this.groups.values()) group.close();
    this.groups.clear();
  }
}
