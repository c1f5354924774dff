/**
 * Subscriptions (spec §3.3–§3.6): the subscription request (start position, durable resume,
 * queue groups and their shadow), acks, unsubscribe and subscription close, and removing a
 * subscription from the runtime state per the table of spec §3.6.
 */
import {
  AckCodec,
  isCtrlMsg,
  StartPosition,
  SubscriptionRequest,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
  SubState,
  UnsubscribeRequest,
  UnsubscribeRequestCodec,
} from '../protocol/codec';
import type { Channels } from './channels';
import type { Clients } from './clients';
import type { CoreContext } from './context';
import type { Delivery } from './delivery';
import type { MsgHandler } from '../nats/transport';
import * as E from './errors';
import { ACK_NOT_FAST, fastAckSeq } from '../protocol/ack-fast';
import { AckInboxes } from './ack-inboxes';
import { errorText } from '../errors';
import { ClientRegistry } from './partitioning';
import { durableKey, QueueGroup, Subscription, type Channel, type Client } from './state';
import { isValidChannelName } from '../subject';

/** Checks of spec §3.3 that need no state: the client-facing error, or undefined. */
function invalidRequest(req: SubscriptionRequest): string | undefined {
  if (!req.clientID) return E.ERR_MISSING_CLIENT_ID;
  if (req.ackWaitInSecs <= 0) return E.ERR_INVALID_ACK_WAIT;
  if (req.maxInFlight <= 0) return E.ERR_INVALID_MAX_IN_FLIGHT;
  if (req.startPosition < StartPosition.NewOnly || req.startPosition > StartPosition.First) return E.ERR_INVALID_START;
  if (!isValidChannelName(req.subject)) return E.ERR_INVALID_SUBJECT;
  return undefined;
}

export class SubscriptionHandler {
  private readonly ackHandlers = new WeakMap<Channel, MsgHandler>();
  private readonly ackInboxes: AckInboxes;
  constructor(
    private readonly ctx: CoreContext,
    private readonly clients: Clients,
    private readonly channels: Channels,
    private readonly delivery: Delivery,
    /** Resolves once every publish received so far is committed and acknowledged. */
    private readonly barrier: () => Promise<void>,
  ) {
    this.ackInboxes = new AckInboxes(ctx.nc, (ch) => this.ackHandler(ch));
  }

  private subError(reply: string | undefined, error: string): void {
    this.ctx.reply(reply, SubscriptionResponseCodec.encode({ error }));
  }

  async onSubscribe(reply: string | undefined, data: Uint8Array): Promise<void> {
    let req: SubscriptionRequest;
    try {
      req = SubscriptionRequestCodec.decode(data);
    } catch {
      this.ctx.log.error('Received invalid subscription request: unable to decode');
      return this.subError(reply, E.ERR_INVALID_SUB_REQ);
    }
    const fail = (error: string, detail?: string): void => {
      this.ctx.log.error(`[Client:${req.clientID}] Invalid subscription request for "${req.subject}": ${detail ?? error}`);
      this.subError(reply, error);
    };
    const invalid = invalidRequest(req);
    if (invalid !== undefined) return fail(invalid);
    // Partitioning: another server may own the channel; if none does, the client times out.
    const { partition, registry } = this.ctx.routing;
    if (partition !== undefined && !partition.owns(req.subject)) return;
    const byID = this.clients.byID;
    if (registry !== undefined && !byID.has(req.clientID)) {
      const id = req.clientID;
      const known = await registry.waitFor(ClientRegistry.idKey(id), () => byID.has(id));
      if (!known) return fail(E.ERR_INVALID_SUB_REQ, 'connection not registered on this server (partitioning)');
    }
    const client = byID.get(req.clientID);
    if (client === undefined) return fail(E.ERR_UNKNOWN_CLIENT);
    let ch: Channel;
    try {
      ch = this.channels.getOrCreate(req.subject);
    } catch (err) {
      return fail(errorText(err));
    }
    if (req.qGroup && req.durableName && req.durableName.includes(':')) return fail(E.ERR_DURABLE_QUEUE_COLON);

    // The start position is the only step that may wait (a timestamp lookup in a SQL store):
    // do it first, so that looking up and registering the durable / queue group below happen
    // in one synchronous step — two concurrent requests must not both create the same group
    // or both pass the duplicate-durable check.
    let startLastSent: number;
    try {
      startLastSent = await this.startLastSent(ch, req);
    } catch (err) {
      return fail(errorText(err));
    }
    if (ch.deleting || this.channels.byName.get(ch.name) !== ch) return fail(E.ERR_CHANNEL_BEING_DELETED);
    if (client.closing || byID.get(req.clientID) !== client) return fail(E.ERR_UNKNOWN_CLIENT);

    let placed: { sub: Subscription; resumed: boolean } | string;
    try {
      placed = this.place(ch, req, startLastSent);
    } catch (err) {
      return fail(errorText(err));
    }
    if (typeof placed === 'string') return fail(placed);
    await this.commitAndStart(client, ch, req, placed.sub, placed.resumed, reply, fail);
  }

  /**
   * Creates, joins or resumes the subscription; synchronous (see onSubscribe). Returns the
   * client-facing error when a durable of that name is already online.
   */
  private place(ch: Channel, req: SubscriptionRequest, startLastSent: number): { sub: Subscription; resumed: boolean } | string {
    if (req.qGroup) return this.subscribeQueue(ch, req, startLastSent);
    if (!req.durableName) {
      const sub = this.newSub(ch, req, '', startLastSent);
      ch.plainSubs.add(sub);
      return { sub, resumed: false };
    }
    const key = durableKey(req.clientID, req.subject, req.durableName);
    const existing = ch.durables.get(key);
    if (existing !== undefined && !existing.isOffline) {
      if (!this.ctx.opts.replaceDurable) return E.ERR_DUP_DURABLE;
      this.removeSub(existing, false);
    }
    let sub: Subscription;
    if (existing !== undefined) {
      sub = existing;
      this.resumeState(sub, req);
      ch.store.subs.updateSub(sub.state);
    } else {
      sub = this.newSub(ch, req, '', startLastSent);
      ch.durables.set(key, sub);
    }
    ch.plainSubs.add(sub);
    return { sub, resumed: existing !== undefined };
  }

  /** Makes the new subscription durable, answers, then starts delivery on the next turn. */
  private async commitAndStart(
    client: Client,
    ch: Channel,
    req: SubscriptionRequest,
    sub: Subscription,
    resumed: boolean,
    reply: string | undefined,
    fail: (error: string) => void,
  ): Promise<void> {
    const { ctx } = this;
    // Not `ready` yet: nothing is sent to it before its SubscriptionResponse (spec §3.3).
    sub.ready = false;
    client.subs.add(sub);
    this.attachAckInbox(sub);
    try {
      await ctx.store.commit();
    } catch (err) {
      // Undo; a resumed durable goes back offline, it is not deleted.
      this.removeSub(sub, !resumed);
      return fail(errorText(err));
    }
    if (client.closing || !this.clients.byID.has(client.id)) {
      // The client went away while we were committing.
      this.removeSub(sub, false);
      return fail(E.ERR_UNKNOWN_CLIENT);
    }
    ctx.reply(reply, SubscriptionResponseCodec.encode({ ackInbox: sub.state.ackInbox }));
    sub.ready = true;
    ctx.log.debug(
      `[Client:${req.clientID}] ${resumed ? 'Resumed' : 'Started new'} subscription subject=${req.subject}` +
        `${req.qGroup ? ` queue=${req.qGroup}` : ''}${req.durableName ? ` durable=${req.durableName}` : ''} inbox=${req.inbox} subid=${sub.id}`,
    );
    if (ch.inactivityTimer) this.channels.checkInactivity(ch);
    // The response goes out first; delivery starts on the next turn (spec §3.3).
    ctx.clock.setImmediate(() => {
      if (resumed && sub.pendingCount > 0) {
        this.delivery
          .redeliverAllPending(sub)
          .catch((err: unknown) => ctx.log.error(`Unable to redeliver pending messages of channel "${ch.name}" (subid=${sub.id}): ${errorText(err)}`));
      } else if (sub.group) this.delivery.pumpGroup(ch, sub.group);
      else this.delivery.pumpSub(sub);
    });
  }

  private resumeState(sub: Subscription, req: SubscriptionRequest): void {
    const st = sub.state;
    st.clientID = req.clientID;
    st.inbox = req.inbox;
    st.ackInbox = this.ctx.nc.newInbox();
    st.maxInFlight = req.maxInFlight;
    st.ackWaitInSecs = req.ackWaitInSecs;
    st.isClosed = false;
  }

  /** Computes lastSent for a new subscription from its start position (spec §2.1 table). */
  private async startLastSent(ch: Channel, req: SubscriptionRequest): Promise<number> {
    const msgs = ch.store.msgs;
    // The channel's last sequence includes messages received but still being committed:
    // they were published before this request (delivery still waits for their commit).
    const last = ch.nextSeq;
    const first = msgs.firstSeq;
    switch (req.startPosition as StartPosition) {
      case StartPosition.NewOnly:
        return last;
      case StartPosition.LastReceived:
        return last > 0 ? last - 1 : 0;
      case StartPosition.TimeDeltaStart: {
        const seq = await msgs.firstSeqAtOrAfter(this.ctx.clock.nowNanos() - req.startTimeDelta);
        return Math.min(seq, last + 1) - 1;
      }
      case StartPosition.SequenceStart: {
        const s = req.startSequence;
        if (s === 0 || s < first) return first > 0 ? first - 1 : 0;
        if (s > last) return last;
        return s - 1;
      }
      case StartPosition.First:
        return first > 0 ? first - 1 : 0;
    }
  }

  private newSub(ch: Channel, req: SubscriptionRequest, qGroup: string, lastSent: number): Subscription {
    const state: SubState = {
      ID: 0,
      clientID: req.clientID,
      qGroup,
      inbox: req.inbox,
      ackInbox: this.ctx.nc.newInbox(),
      maxInFlight: req.maxInFlight,
      ackWaitInSecs: req.ackWaitInSecs,
      durableName: qGroup ? '' : req.durableName,
      lastSent,
      isDurable: req.durableName !== '',
      isClosed: false,
    };
    ch.store.subs.createSub(state);
    return new Subscription(state, ch);
  }

  /** Joins (or creates, or resumes from its shadow) a queue group. Synchronous: see onSubscribe. */
  private subscribeQueue(ch: Channel, req: SubscriptionRequest, startLastSent: number): { sub: Subscription; resumed: boolean } {
    const name = req.durableName ? `${req.durableName}:${req.qGroup}` : req.qGroup;
    const g = ch.queues.get(name);
    if (g !== undefined && g.members.length === 0 && g.shadow !== undefined) {
      // First member back in a durable queue group: it takes over the shadow.
      const sub = g.shadow;
      g.shadow = undefined;
      this.resumeState(sub, req);
      sub.state.lastSent = g.lastSent;
      g.members.push(sub);
      ch.store.subs.updateSub(sub.state);
      return { sub, resumed: true };
    }
    if (g === undefined) {
      const sub = this.newSub(ch, req, name, startLastSent);
      const created = new QueueGroup(name, req.durableName !== '', startLastSent);
      ch.queues.set(name, created);
      sub.group = created;
      created.members.push(sub);
      return { sub, resumed: false };
    }
    // A new member starts from the group's current position.
    const sub = this.newSub(ch, req, name, g.lastSent);
    sub.group = g;
    g.members.push(sub);
    return { sub, resumed: false };
  }

  attachAckInbox(sub: Subscription): void {
    this.ackInboxes.attach(sub);
  }

  /** Shutdown: every ack inbox unsubscribed. */
  closeAckInboxes(): void {
    this.ackInboxes.closeAll(this.channels.byName.values());
  }

  /**
   * One ack handler per channel, finding the subscription by the ack inbox the ack came on
   * (byAckInbox holds exactly the subscriptions whose ack inbox is subscribed), instead of a
   * closure per subscription: 60,000 closures and their contexts were ~7 MB of the heap
   * recovered at a restart (docs/performance.md, "Restart").
   */
  private ackHandler(ch: Channel): MsgHandler {
    let h = this.ackHandlers.get(ch);
    if (h === undefined) {
      // The channel name's bytes, for the ack fast path (ack-fast.ts): no string per ack.
      const name = Buffer.from(ch.name, 'utf8');
      h = (subject, _reply, data) => {
        const sub = ch.byAckInbox.get(subject);
        if (sub === undefined) return;
        const seq = fastAckSeq(data, name);
        if (seq !== ACK_NOT_FAST && !this.ctx.log.isTrace) this.delivery.ack(sub, seq);
        else this.onAck(sub, data);
      };
      this.ackHandlers.set(ch, h);
    }
    return h;
  }

  private onAck(sub: Subscription, data: Uint8Array): void {
    const { log } = this.ctx;
    let seq: number;
    try {
      const ack = AckCodec.decode(data);
      seq = ack.sequence;
      if (ack.subject !== sub.channel.name) {
        // The reference finds the channel by Ack.subject, then the subscription by ack inbox
        // *within that channel*: an ack naming another channel finds no subscription.
        if (!this.channels.byName.has(ack.subject)) {
          log.error(`Unable to process ack seq=${ack.sequence}, channel "${ack.subject}" not found`);
        }
        return;
      }
    } catch {
      if (!isCtrlMsg(data)) log.error(`[Client:${sub.state.clientID}] Received invalid ack (subid=${sub.id})`);
      return;
    }
    if (log.isTrace) log.trace(`[Client:${sub.state.clientID}] Processing ack for subid=${sub.id}, subject=${sub.channel.name}, seq=${seq}`);
    this.delivery.ack(sub, seq);
  }

  async onUnsubscribe(reply: string | undefined, data: Uint8Array, isClose: boolean): Promise<void> {
    const { ctx } = this;
    let req: UnsubscribeRequest;
    try {
      req = UnsubscribeRequestCodec.decode(data);
    } catch {
      ctx.log.error(`Received invalid ${isClose ? 'sub close' : 'unsubscribe'} request: unable to decode`);
      return this.subError(reply, E.ERR_INVALID_UNSUB_REQ);
    }
    // Partitioning: the owner of the channel answers; the others stay silent.
    const partition = ctx.routing.partition;
    if (partition !== undefined && !partition.owns(req.subject)) return;
    // Messages and acks received before this request are processed first (barrier).
    await this.barrier();
    const fail = (error: string): void => {
      ctx.log.error(`[Client:${req.clientID}] ${isClose ? 'Close subscription' : 'Unsubscribe'} request for "${req.subject}" failed: ${error}`);
      this.subError(reply, error);
    };
    const ch = this.channels.byName.get(req.subject);
    if (ch === undefined) return fail(E.ERR_UNKNOWN_CHANNEL);
    let sub = ch.byAckInbox.get(req.inbox);
    if (sub === undefined) {
      for (const s of ch.byAckInbox.values()) {
        if (s.state.inbox === req.inbox) {
          sub = s;
          break;
        }
      }
    }
    if (sub === undefined) return fail(E.ERR_INVALID_SUB);
    if (sub.state.clientID !== req.clientID) return fail(E.ERR_UNKNOWN_CLIENT);
    this.removeSub(sub, !isClose);
    try {
      await ctx.store.commit();
    } catch (err) {
      return fail(errorText(err));
    }
    ctx.log.debug(`[Client:${req.clientID}] ${isClose ? 'Closed' : 'Unsubscribed'} subscription subject=${req.subject} subid=${sub.id}`);
    ctx.reply(reply, SubscriptionResponseCodec.encode({}));
  }

  /**
   * Removes a subscription from the runtime state, per the table of spec §3.6:
   * `unsubscribe` deletes durables for good; a close keeps them offline (shadow for queues).
   */
  removeSub(sub: Subscription, unsubscribe: boolean): void {
    const ch = sub.channel;
    this.delivery.stopAckTimer(sub);
    this.ackInboxes.detach(sub);
    this.clients.byID.get(sub.state.clientID)?.subs.delete(sub);
    const g = sub.group;
    if (g !== undefined) this.leaveGroup(sub, g, unsubscribe);
    else if (sub.state.isDurable) {
      ch.plainSubs.delete(sub);
      if (unsubscribe) {
        ch.durables.delete(durableKey(sub.state.clientID, ch.name, sub.state.durableName));
        ch.store.subs.deleteSub(sub.id);
      } else {
        sub.state.isClosed = true;
        sub.state.ackInbox = '';
        ch.store.subs.updateSub(sub.state);
      }
    } else {
      ch.plainSubs.delete(sub);
      ch.store.subs.deleteSub(sub.id);
    }
    this.channels.checkInactivity(ch);
  }

  private leaveGroup(sub: Subscription, g: QueueGroup, unsubscribe: boolean): void {
    const ch = sub.channel;
    const subs = ch.store.subs;
    const i = g.members.indexOf(sub);
    if (i >= 0) g.members.splice(i, 1);
    if (g.members.length > 0) {
      this.delivery.redistribute(sub, g);
      subs.deleteSub(sub.id);
      // The group's position lives in its members' records: the leaving member may have
      // been the one holding it, so record it on a remaining member (spec §3.6).
      const keeper = g.members[0];
      if (keeper.state.lastSent < g.lastSent) {
        keeper.state.lastSent = g.lastSent;
        subs.updateSub(keeper.state);
      }
      // The group may have been stalled on the leaving member.
      this.delivery.pumpGroup(ch, g);
    } else if (g.durable && !unsubscribe) {
      // Last member of a durable queue group closes: the group survives as a shadow.
      sub.state.clientID = '';
      sub.state.lastSent = g.lastSent;
      sub.state.ackInbox = '';
      g.shadow = sub;
      subs.updateSub(sub.state);
    } else {
      ch.queues.delete(g.name);
      subs.deleteSub(sub.id);
    }
  }
}
