/**
 * Message delivery, acknowledgements and redelivery (spec §3.4, §3.5).
 *
 * Messages are sent in their stored wire form (StoredMsg.bytes). A redelivery appends the
 * `redelivered` (field 6) and `redeliveryCount` (field 7) fields to those bytes: protobuf
 * decoders keep the last value of a repeated scalar field, so this is a valid MsgProto and
 * the message is never re-encoded.
 */
import type { NatsTransport } from '../nats/transport';
import type { Logger } from '../logging/logger';
import type { StoredMsg } from '../store/contract';
import { Channel, Client, QueueGroup, Subscription } from './state';
import type { Clock } from './clock';
import { errorText } from '../errors';

/** Redeliver entries expiring within this window together (reference: 15 ms). */
const REDELIVERY_SLACK_MS = 15;

/**
 * Max deliveries (docs/dead-letters.md; absent = the reference's unlimited redelivery).
 * `deliveries` counts the first delivery as one; a queue group counts per group.
 */
export interface DeliveryCap {
  isExhausted(sub: Subscription, deliveries: number): boolean;
  /** The message left `sub`'s pending set: dead-letter (or drop) it. */
  retire(sub: Subscription, msg: StoredMsg, deliveries: number): void;
  /** `sub` was sent `seq` again, redelivery number `count`: record it for recovery. */
  redelivered(sub: Subscription, seq: number, count: number): void;
}

export interface DeliveryContext {
  cap?: DeliveryCap;
  transport: NatsTransport;
  logger: Logger;
  lookupClient(id: string): Client | undefined;
  stats: { outMsgs: number; outBytes: number; redeliveries: number };
  clock: Clock;
}

export function redeliveredBytes(bytes: Uint8Array, count: number): Uint8Array {
  // field 6 varint (tag 0x30) = 1; field 7 varint (tag 0x38) = count
  const extra: number[] = [0x30, 0x01];
  if (count > 0) {
    extra.push(0x38);
    let v = count >>> 0;
    while (v > 0x7f) {
      extra.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    extra.push(v);
  }
  const out = Buffer.allocUnsafe(bytes.length + extra.length);
  out.set(bytes, 0);
  for (let i = 0; i < extra.length; i++) out[bytes.length + i] = extra[i];
  return out;
}

export class Delivery {
  constructor(private readonly ctx: DeliveryContext) {}

  private clientHasFailedHB(sub: Subscription): boolean {
    const c = this.ctx.lookupClient(sub.state.clientID);
    return c !== undefined && c.failedHB > 0;
  }

  private send(sub: Subscription, msg: StoredMsg, redelivered: boolean, count: number): void {
    const bytes = redelivered ? redeliveredBytes(msg.bytes, count) : msg.bytes;
    this.ctx.transport.publish(sub.state.inbox, bytes);
    this.ctx.stats.outMsgs++;
    this.ctx.stats.outBytes += bytes.length;
    if (redelivered) this.ctx.stats.redeliveries++;
    if (this.ctx.logger.isTrace) {
      this.ctx.logger.trace(
        `[Client:${sub.state.clientID}] ${redelivered ? 'Redelivering' : 'Delivering'} msg to subid=${sub.id}, subject=${sub.channel.name}, seq=${msg.seq}`,
      );
    }
  }

  private addPending(sub: Subscription, seq: number, expiration: number): void {
    sub.acksPending.set(seq, expiration);
    sub.channel.store.subs.addSeqPending(sub.id, seq);
    this.ensureAckTimer(sub, expiration);
  }

  /** Arms the ack timer so that it fires no later than `at`. */
  ensureAckTimer(sub: Subscription, at: number): void {
    if (sub.ackTimer !== undefined && sub.ackTimerAt <= at) return;
    if (sub.ackTimer !== undefined) this.ctx.clock.clearTimeout(sub.ackTimer);
    const delay = Math.max(0, at - this.ctx.clock.now());
    sub.ackTimerAt = at;
    sub.ackTimer = this.ctx.clock.setTimeout(() => {
      sub.ackTimer = undefined;
      sub.ackTimerAt = 0;
      this.redeliverExpired(sub, false).catch((err: unknown) =>
        this.ctx.logger.error(`Unable to redeliver messages of channel "${sub.channel.name}" (subid=${sub.id}): ${errorText(err)}`),
      );
    }, delay);
  }

  stopAckTimer(sub: Subscription): void {
    if (sub.ackTimer !== undefined) this.ctx.clock.clearTimeout(sub.ackTimer);
    sub.ackTimer = undefined;
    sub.ackTimerAt = 0;
  }

  /** Reads a message, synchronously when the store has it in memory. */
  private read(channel: Channel, seq: number): StoredMsg | undefined | Promise<StoredMsg | undefined> {
    const m = channel.store.msgs.lookupCached(seq);
    if (m !== null) return m;
    return channel.store.msgs.lookup(seq);
  }

  /** Deliver newly committed messages of a channel to all its online subscriptions. */
  deliverChannel(channel: Channel): void {
    for (const sub of channel.plainSubs) this.pumpSub(sub);
    for (const g of channel.queues.values()) this.pumpGroup(channel, g);
  }

  /** Sends messages after lastSent to a plain or durable subscription, within MaxInflight. */
  pumpSub(sub: Subscription): void {
    if (sub.pumping || sub.holdNew || !sub.ready || sub.isOffline || sub.group) return;
    const channel = sub.channel;
    const ackWait = sub.ackWaitMs;
    // One clock read per pass, not per message (a catch-up sends thousands per pass): the
    // messages of one synchronous pass share their ack deadline. (One reading per burst of
    // acks instead was measured in round 4 and not kept: docs/performance.md.)
    let expiration = 0;
    while (sub.state.lastSent < channel.deliverableSeq && sub.acksPending.size < sub.state.maxInFlight) {
      let seq = sub.state.lastSent + 1;
      const first = channel.store.msgs.firstSeq;
      if (seq < first) seq = first; // removed by limits: skip to the first available
      if (seq > channel.deliverableSeq) break;
      const m = this.read(channel, seq);
      if (m instanceof Promise) {
        sub.pumping = true;
        const epoch = sub.positionEpoch;
        m.then(
          (msg) => {
            // Reset meanwhile: the read was for the old position, and a new pass has the flag.
            if (sub.positionEpoch !== epoch) return;
            sub.pumping = false;
            if (sub.isOffline || !channel.plainSubs.has(sub)) return;
            if (msg && sub.state.lastSent < seq) {
              sub.state.lastSent = seq;
              this.send(sub, msg, false, 0);
              this.addPending(sub, seq, this.ctx.clock.now() + ackWait);
            } else if (!msg && sub.state.lastSent < seq) {
              sub.state.lastSent = seq;
            }
            this.pumpSub(sub);
          },
          (err: unknown) => {
            if (sub.positionEpoch === epoch) sub.pumping = false;
            this.ctx.logger.error(`Unable to read message ${seq} of channel "${channel.name}": ${String(err)}`);
          },
        );
        return;
      }
      sub.state.lastSent = seq;
      if (m === undefined) continue;
      this.send(sub, m, false, 0);
      if (expiration === 0) expiration = this.ctx.clock.now() + ackWait;
      this.addPending(sub, seq, expiration);
    }
  }

  /**
   * Picks the member for a message (spec §3.4, the reference's findBestQueueSub): among the
   * members that are not stalled and whose client has no failed heartbeat, the one with the
   * fewest pending acks (first wins ties); if none qualifies, the first member. New messages
   * are not sent to a stalled choice (undefined: the group waits); a redelivery (`force`)
   * goes to the choice even if it is stalled. A chosen first member is rotated to the end
   * (round-robin among equals). Members not yet answered (not ready) or held are skipped.
   */
  pickMember(g: QueueGroup, force: boolean): Subscription | undefined {
    let best: Subscription | undefined;
    let first: Subscription | undefined;
    for (const m of g.members) {
      if (!m.ready || m.holdNew) continue;
      if (first === undefined) first = m;
      if (m.isStalled || this.clientHasFailedHB(m)) continue;
      if (best === undefined || m.acksPending.size < best.acksPending.size) best = m;
    }
    const chosen = best ?? first;
    if (chosen === undefined || (!force && chosen.isStalled)) return undefined;
    if (g.members.length > 1 && g.members[0] === chosen) {
      g.members.shift();
      g.members.push(chosen);
    }
    return chosen;
  }

  pumpGroup(channel: Channel, g: QueueGroup): void {
    if (g.pumping || g.startupHolds > 0 || g.members.length === 0) return;
    while (g.lastSent < channel.deliverableSeq) {
      let seq = g.lastSent + 1;
      const first = channel.store.msgs.firstSeq;
      if (seq < first) seq = first;
      if (seq > channel.deliverableSeq) break;
      const m = this.read(channel, seq);
      if (m instanceof Promise) {
        g.pumping = true;
        const epoch = g.positionEpoch;
        m.then(
          (msg) => {
            if (g.positionEpoch !== epoch) return; // as in pumpSub
            g.pumping = false;
            if (g.lastSent < seq) {
              if (msg) {
                const member = this.pickMember(g, false);
                if (!member) return;
                g.lastSent = seq;
                this.sendToMember(member, g, msg);
              } else {
                g.lastSent = seq;
              }
            }
            this.pumpGroup(channel, g);
          },
          (err: unknown) => {
            if (g.positionEpoch === epoch) g.pumping = false;
            this.ctx.logger.error(`Unable to read message ${seq} of channel "${channel.name}": ${String(err)}`);
          },
        );
        return;
      }
      if (m === undefined) {
        g.lastSent = seq;
        continue;
      }
      const member = this.pickMember(g, false);
      if (member === undefined) break;
      g.lastSent = seq;
      this.sendToMember(member, g, m);
    }
  }

  private sendToMember(member: Subscription, g: QueueGroup, msg: StoredMsg): void {
    member.state.lastSent = g.lastSent;
    this.send(member, msg, false, 0);
    this.addPending(member, msg.seq, this.ctx.clock.now() + member.ackWaitMs);
  }

  /** Processes an Ack for `sub` (spec §3.4). Returns true if a pending entry was removed. */
  ack(sub: Subscription, seq: number): boolean {
    let holder: Subscription | undefined = sub;
    if (!sub.acksPending.has(seq)) {
      holder = undefined;
      if (sub.group) {
        for (const m of sub.group.members) {
          if (m.acksPending.has(seq)) {
            holder = m;
            break;
          }
        }
      }
      if (holder === undefined) return false;
    }
    this.removePending(holder, seq, true);
    return true;
  }

  /**
   * Removes a pending entry — a user ack, or an implicit one (message dropped by limits, or
   * moved to another queue member) — and resumes the flow if that un-stalls the subscription.
   */
  private removePending(holder: Subscription, seq: number, clearCount: boolean, recordAck = true): void {
    const wasStalled = holder.isStalled;
    holder.acksPending.delete(seq);
    if (clearCount) holder.redeliveryCounts.delete(seq);
    if (recordAck) holder.channel.store.subs.ackSeqPending(holder.id, seq);
    if (holder.acksPending.size === 0) this.stopAckTimer(holder);
    if (wasStalled && !holder.isStalled) {
      if (holder.group) this.pumpGroup(holder.channel, holder.group);
      else this.pumpSub(holder);
    }
  }

  /**
   * True (and the message retired) when `holder` already had the message as often as its
   * max deliveries allow: it leaves the pending set instead of being sent again.
   */
  private retireIfExhausted(holder: Subscription, seq: number, msg: StoredMsg): boolean {
    const cap = this.ctx.cap;
    if (cap === undefined) return false;
    const deliveries = (holder.redeliveryCounts.get(seq) ?? 0) + 1;
    if (!cap.isExhausted(holder, deliveries)) return false;
    const subs = holder.channel.store.subs;
    if (subs.deadLetterSeq !== undefined) subs.deadLetterSeq(holder.id, seq, deliveries);
    else subs.ackSeqPending(holder.id, seq);
    this.removePending(holder, seq, true, false);
    cap.retire(holder, msg, deliveries);
    return true;
  }

  /**
   * Redelivers the expired pending messages of a subscription (spec §3.5). `startup` is true
   * for the pass right after recovery, where queue messages go back to the member that held
   * them.
   */
  async redeliverExpired(sub: Subscription, startup: boolean): Promise<void> {
    if (sub.redelivering) return;
    if (sub.acksPending.size === 0) return;
    const channel = sub.channel;
    const ackWait = sub.ackWaitMs;
    if (sub.isOffline) return;
    if (!sub.ready) {
      // Its SubscriptionResponse is not out yet: try again shortly.
      this.ensureAckTimer(sub, this.ctx.clock.now() + 100);
      return;
    }
    if (!sub.group && this.clientHasFailedHB(sub)) {
      // The client is not answering heartbeats: don't flood it, try again later.
      this.ensureAckTimer(sub, this.ctx.clock.now() + ackWait);
      return;
    }
    sub.redelivering = true;
    const epoch = sub.positionEpoch;
    try {
      const now = this.ctx.clock.now();
      const entries = [...sub.acksPending.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      let nextExpiration = 0;
      for (const [seq, exp] of entries) {
        if (exp >= now + REDELIVERY_SLACK_MS) {
          nextExpiration = exp;
          break;
        }
        if (!sub.acksPending.has(seq)) continue; // acked meanwhile
        let msg = this.read(channel, seq);
        if (msg instanceof Promise) msg = await msg;
        // Reset meanwhile: these entries are gone (a same sequence pending now is a new delivery).
        if (sub.positionEpoch !== epoch) break;
        if (sub.isOffline || !sub.acksPending.has(seq)) continue;
        if (msg === undefined) {
          // Dropped by limits: nothing to redeliver, treat it as acknowledged.
          this.removePending(sub, seq, true);
          continue;
        }
        if (this.retireIfExhausted(sub, seq, msg)) continue;
        let target = sub;
        if (sub.group && !startup) {
          const best = this.pickMember(sub.group, true);
          if (best !== undefined && best !== sub) {
            // The message moves to the better member: implicit ack on the original one
            // (the group's redelivery count is kept).
            this.removePending(sub, seq, false);
            target = best;
          }
        }
        const counts = target.redeliveryCounts;
        const count = (counts.get(seq) ?? 0) + 1;
        counts.set(seq, count);
        // Same member: old expiration + ack wait; a member that takes the message over
        // starts a fresh ack wait of its own.
        let newExp = target !== sub ? now + target.ackWaitMs : exp > 0 ? exp + ackWait : now + ackWait;
        // Never schedule in the past: a long-gone expiration would redeliver in a tight loop.
        if (newExp <= now) newExp = now + target.ackWaitMs;
        if (target === sub) {
          sub.acksPending.set(seq, newExp);
        } else {
          this.addPending(target, seq, newExp);
        }
        this.send(target, msg, true, count);
        this.ctx.cap?.redelivered(target, seq, count);
      }
      if (sub.acksPending.size > 0) {
        if (nextExpiration === 0) {
          let min = Infinity;
          for (const e of sub.acksPending.values()) if (e < min) min = e;
          nextExpiration = min;
        }
        this.ensureAckTimer(sub, Math.max(nextExpiration, this.ctx.clock.now() + REDELIVERY_SLACK_MS));
      }
    } finally {
      sub.redelivering = false;
    }
  }

  /**
   * Durable resume / durable-queue shadow take-over: every pending message is redelivered
   * first (by sequence, ignoring MaxInflight), then new messages flow (spec §3.3).
   */
  async redeliverAllPending(sub: Subscription): Promise<void> {
    sub.holdNew = true;
    const epoch = sub.positionEpoch;
    try {
      const seqs = [...sub.acksPending.keys()].sort((a, b) => a - b);
      const now = this.ctx.clock.now();
      for (const seq of seqs) {
        let msg = this.read(sub.channel, seq);
        if (msg instanceof Promise) msg = await msg;
        if (sub.isOffline) return;
        if (sub.positionEpoch !== epoch) break; // reset meanwhile: nothing of these is pending
        if (!sub.acksPending.has(seq)) continue;
        if (msg === undefined) {
          sub.acksPending.delete(seq);
          sub.channel.store.subs.ackSeqPending(sub.id, seq);
          continue;
        }
        if (this.retireIfExhausted(sub, seq, msg)) continue;
        const count = (sub.redeliveryCounts.get(seq) ?? 0) + 1;
        sub.redeliveryCounts.set(seq, count);
        sub.acksPending.set(seq, now + sub.ackWaitMs);
        this.send(sub, msg, true, count);
        this.ctx.cap?.redelivered(sub, seq, count);
      }
      if (sub.acksPending.size > 0) this.ensureAckTimer(sub, now + sub.ackWaitMs);
    } finally {
      sub.holdNew = false;
    }
    if (sub.group) this.pumpGroup(sub.channel, sub.group);
    else this.pumpSub(sub);
  }

  /**
   * An operator's reset of a durable (or of a durable queue group: its members, its shadow and
   * the group itself) to `lastSent` (admin-actions.ts). Pending messages are forgotten as if
   * acknowledged (their late acks find nothing), redelivery counts too. Every pass with a store
   * read in flight was started for the old position: bumping the epoch makes it drop what it
   * read (a cold page read of the next message resolving after the reset sent that message and
   * went on after it: the reset backwards was lost), and clearing the pump flags lets the next
   * pump start at the new position at once. The only place a position is moved backwards.
   */
  resetPosition(subs: readonly Subscription[], group: QueueGroup | undefined, lastSent: number): void {
    for (const sub of subs) {
      this.stopAckTimer(sub);
      sub.acksPending.clear();
      sub.redeliveries.clear();
      sub.state.lastSent = lastSent;
      sub.positionEpoch++;
      sub.pumping = false;
    }
    if (group !== undefined) {
      group.lastSent = lastSent;
      group.redeliveries.clear();
      group.positionEpoch++;
      group.pumping = false;
    }
  }

  /**
   * A member left a queue group that still has members: its pending messages are spread
   * round-robin over the others, already expired, and redelivered within 100 ms (§3.5).
   */
  redistribute(from: Subscription, g: QueueGroup): void {
    if (from.acksPending.size === 0 || g.members.length === 0) return;
    const entries = [...from.acksPending.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const expired = this.ctx.clock.now() - 1000;
    let i = 0;
    const touched = new Set<Subscription>();
    for (const [seq] of entries) {
      const m = g.members[i % g.members.length];
      i++;
      m.acksPending.set(seq, expired);
      m.channel.store.subs.addSeqPending(m.id, seq);
      touched.add(m);
    }
    from.acksPending.clear();
    for (const m of touched) {
      if (m.ackTimer !== undefined) this.ctx.clock.clearTimeout(m.ackTimer);
      m.ackTimer = undefined;
      m.ackTimerAt = 0;
      this.ensureAckTimer(m, this.ctx.clock.now() + 100);
    }
  }
}
