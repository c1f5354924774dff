/**
 * Operator actions on the running core (the admin API's mutating calls): evict a client,
 * purge or delete a channel, reset a durable's position, republish a message. Each one goes
 * through the same paths as the protocol requests (client close, channel deletion, message
 * store, delivery) so that the store records it as events, and waits for its commit before
 * answering: once the caller has the answer, a restart or an FT standby sees the change.
 *
 * Knows nothing of HTTP: refusals are {@link AdminActionRefusal}s with a stable code. When the
 * store's commit fails, the change is already made in memory (as for a protocol request, it
 * is not undone: the store keeps the events and may write them once it works again), so the
 * answer is a `not_stored` refusal saying what happened and what to check before retrying.
 */
import { isPurgeableMsgStore, isResettableSubStore } from '../store/contract';
import type { Channels } from './channels';
import type { Clients } from './clients';
import type { CommitPipeline } from './commit-pipeline';
import type { CoreContext } from './context';
import type { Delivery } from './delivery';
import { errorText, StanServerError } from '../errors';
import { durableKey, type Channel, type QueueGroup, type Subscription } from './state';

export type AdminRefusalCode =
  | 'client_not_found'
  | 'channel_not_found'
  | 'channel_has_subscriptions'
  | 'durable_not_found'
  | 'message_not_found'
  | 'not_stored'
  | 'not_supported';

/** An action the core refuses, with a stable code and a message saying what to do. */
export class AdminActionRefusal extends StanServerError {
  readonly kind = 'admin-request' as const;
  constructor(
    readonly code: AdminRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'AdminActionRefusal';
  }
}

export interface AdminActionsDeps {
  ctx: CoreContext;
  clients: Clients;
  channels: Channels;
  delivery: Delivery;
  publisher: CommitPipeline;
}

/** Which durable to reset, and to which position (first sequence to deliver, or a time). */
export interface DurableTarget {
  channel: string;
  clientID: string;
  durable: string;
  queue: string | undefined;
  at: { seq: number } | { timeNs: number };
}

/**
 * The `not_stored` refusal of an action whose commit failed: `done` says what was changed in
 * memory, `check` what to look at before trying again (the store may still record it).
 */
function notStored(err: unknown, done: string, check: string): AdminActionRefusal {
  return new AdminActionRefusal(
    'not_stored',
    `${done} on this server, but the store's commit failed (${errorText(err)}): the change is not known to be stored, and the store may still record it once it works again; ${check}`,
  );
}

export class AdminActions {
  constructor(private readonly d: AdminActionsDeps) {}

  private channel(name: string): Channel {
    const ch = this.d.channels.byName.get(name);
    if (ch === undefined || ch.deleting) throw new AdminActionRefusal('channel_not_found', `channel ${JSON.stringify(name)} not found`);
    return ch;
  }

  /** Every publish received so far committed, then `store.commit()`: the change is durable. */
  private async settle(): Promise<void> {
    await this.d.publisher.barrier();
  }

  /**
   * `store.commit()`, its failure as a {@link notStored} refusal, logged (the access log has
   * only the code; client close and channel deletion log their own commit errors).
   */
  private async commit(done: () => string, check: string): Promise<void> {
    try {
      await this.d.ctx.store.commit();
    } catch (err) {
      const refusal = notStored(err, done(), check);
      this.d.ctx.log.error(`Administrator's action: ${refusal.message}`);
      throw refusal;
    }
  }

  /** Closes the client as its CloseRequest would: plain subscriptions end, durables go offline. */
  async evictClient(clientID: string): Promise<{ subscriptions: number }> {
    await this.settle();
    const c = this.d.clients.byID.get(clientID);
    if (c === undefined) throw new AdminActionRefusal('client_not_found', `client ${JSON.stringify(clientID)} is not connected`);
    const subscriptions = c.subs.size;
    const { commitError } = await this.d.clients.close(c, 'evicted');
    this.d.ctx.log.notice(`[Client:${clientID}] Evicted by an administrator (${subscriptions} subscription(s) closed)`);
    if (commitError !== undefined) {
      throw notStored(
        commitError,
        `client ${JSON.stringify(clientID)} was evicted (${subscriptions} subscription(s) closed)`,
        'if the client is listed again after a restart or a failover, evict it again',
      );
    }
    return { subscriptions };
  }

  /** Deletes a channel without active subscriptions (offline durables go with it, as with max_inactivity). */
  async deleteChannel(name: string): Promise<void> {
    const ch = this.channel(name);
    if (ch.hasActiveSubs()) {
      throw new AdminActionRefusal('channel_has_subscriptions', `channel ${JSON.stringify(name)} has subscriptions: close them (or evict their clients) first`);
    }
    const { deleted, commitError } = await this.d.channels.deleteNow(ch, 'by an administrator');
    if (!deleted) {
      throw new AdminActionRefusal('channel_has_subscriptions', `channel ${JSON.stringify(name)} got a subscription while being deleted: close it first`);
    }
    if (commitError !== undefined) {
      throw notStored(commitError, `channel ${JSON.stringify(name)} was deleted`, 'if the channel is listed again after a restart or a failover, delete it again');
    }
  }

  /**
   * Removes the messages below `beforeSeq` (undefined: all; or those older than a time). The
   * channel keeps its last sequence, so publishers continue where they were.
   */
  async purgeChannel(name: string, before: { seq: number } | { timeNs: number } | undefined): Promise<{ removed: number; first_seq: number; last_seq: number }> {
    const ch = this.channel(name);
    const msgs = ch.store.msgs;
    if (!isPurgeableMsgStore(msgs)) throw new AdminActionRefusal('not_supported', 'this store cannot purge messages');
    await this.settle();
    let beforeSeq: number;
    if (before === undefined) beforeSeq = msgs.lastSeq + 1;
    else if ('seq' in before) beforeSeq = before.seq;
    else beforeSeq = await msgs.firstSeqAtOrAfter(before.timeNs);
    const removed = await msgs.purgeBefore(beforeSeq);
    // Purging again is not idempotent ({} would also drop what was published since): look first.
    await this.commit(
      () => `${removed} message(s) of channel ${JSON.stringify(name)} were purged (first=${msgs.firstSeq} last=${msgs.lastSeq})`,
      "look at the channel's first sequence (after a restart or a failover too) before purging again",
    );
    this.d.ctx.log.notice(`Channel "${name}": ${removed} message(s) purged by an administrator (first=${msgs.firstSeq} last=${msgs.lastSeq})`);
    return { removed, first_seq: msgs.firstSeq, last_seq: msgs.lastSeq };
  }

  private durableSubs(ch: Channel, t: DurableTarget): { subs: Subscription[]; group?: QueueGroup } {
    if (t.queue === undefined) {
      const sub = ch.durables.get(durableKey(t.clientID, ch.name, t.durable));
      if (sub !== undefined) return { subs: [sub] };
    } else {
      const g = ch.queues.get(`${t.durable}:${t.queue}`);
      if (g !== undefined && g.durable) return { subs: g.shadow !== undefined ? [g.shadow, ...g.members] : [...g.members], group: g };
    }
    const what = t.queue === undefined ? `durable ${JSON.stringify(t.durable)} of client ${JSON.stringify(t.clientID)}` : `durable queue group ${JSON.stringify(`${t.durable}:${t.queue}`)}`;
    throw new AdminActionRefusal('durable_not_found', `${what} not found on channel ${JSON.stringify(ch.name)}`);
  }

  /**
   * Moves a durable (or a durable queue group) so that its next message is `seq` (or the
   * first at or after a time): pending messages are dropped, redelivery counts forgotten.
   */
  async resetDurable(t: DurableTarget): Promise<{ next_seq: number }> {
    const ch = this.channel(t.channel);
    await this.settle();
    const msgs = ch.store.msgs;
    const seq = 'seq' in t.at ? t.at.seq : await msgs.firstSeqAtOrAfter(t.at.timeNs);
    // After the last await: the channel may be gone, and members that joined or left during
    // the time lookup (a left member's pending messages moved to another) are the group now.
    if (this.channel(t.channel) !== ch) throw new AdminActionRefusal('channel_not_found', `channel ${JSON.stringify(t.channel)} was deleted during the reset`);
    const { subs, group } = this.durableSubs(ch, t);
    // Below the first stored message means "from the first"; beyond the last means "new only".
    const first = Math.max(msgs.firstSeq, 1);
    const lastSent = Math.min(Math.max(seq, first), ch.nextSeq + 1) - 1;
    const store = ch.store.subs;
    if (!isResettableSubStore(store)) throw new AdminActionRefusal('not_supported', 'this store cannot reset durables');
    // Memory and events together, in one synchronous step: no delivery runs in between, so
    // the SubPositionReset events sit between the old position's progress and the new one's.
    this.d.delivery.resetPosition(subs, group, lastSent);
    for (const sub of subs) store.resetPosition(sub.id, lastSent);
    try {
      await this.commit(
        () => `durable ${JSON.stringify(t.durable)} of channel ${JSON.stringify(ch.name)} was moved to sequence ${lastSent + 1}`,
        "look at the durable's position (after a restart or a failover too) before resetting it again: it may have received messages since",
      );
      this.d.ctx.log.notice(`Channel "${ch.name}": durable "${t.durable}" reset by an administrator, next sequence ${lastSent + 1}`);
    } finally {
      // Memory has moved whether or not the commit failed: deliver from the new position.
      this.d.delivery.deliverChannel(ch);
    }
    return { next_seq: lastSent + 1 };
  }

  /**
   * Stores a message on `channel` (created if needed) with the next sequence, as a publish
   * would, and resolves once it is committed and handed to delivery. The message's subject is
   * the channel, as for every STAN message.
   */
  async republish(channel: string, reply: string, data: Uint8Array): Promise<{ seq: number }> {
    let ch: Channel;
    try {
      ch = this.d.channels.getOrCreate(channel);
    } catch (err) {
      throw new AdminActionRefusal('channel_not_found', `cannot publish to channel ${JSON.stringify(channel)}: ${errorText(err)}`);
    }
    const seq = ch.nextSeq + 1;
    let ts = this.d.ctx.clock.nowNanos();
    if (ts < ch.lastTimestamp) ts = ch.lastTimestamp;
    ch.store.msgs.store({ seq, timestamp: ts, subject: ch.name, reply, data });
    ch.nextSeq = seq;
    ch.lastTimestamp = ts;
    if (ch.inactivityTimer) this.d.channels.checkInactivity(ch);
    // No PubAck to send (no ack subject): the pipeline commits it and delivers it.
    this.d.publisher.add(ch, seq, new Uint8Array(0), undefined);
    await this.settle();
    // The barrier settles whether that commit succeeded or not, and nobody gets its PubAck:
    // answer success only for a message known to be stored (a commit resolved after it, and
    // the store did not refuse it), as a publisher's PubAck would.
    await this.commit(() => `message ${seq} of channel ${JSON.stringify(ch.name)} was published`, 'look at the channel (after a restart or a failover too) before requeuing again');
    if ((await ch.store.msgs.lookup(seq)) === undefined) {
      throw new AdminActionRefusal('not_stored', `the store refused message ${seq} of channel ${JSON.stringify(ch.name)} (the server log says why): it is not stored`);
    }
    return { seq };
  }
}
