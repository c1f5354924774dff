/**
 * The channel registry: lookup, lazy creation (names differing only by case are refused),
 * and deletion after max_inactivity without subscriptions (spec §3.2 item 7).
 */
import { StoreError } from '../store/contract';
import type { CoreContext } from './context';
import type { Delivery } from './delivery';
import * as E from './errors';
import { Channel } from './state';

export class Channels {
  readonly byName = new Map<string, Channel>();
  /** Lower-cased channel name → channel, to refuse names differing only by case. */
  private readonly folded = new Map<string, Channel>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly delivery: Delivery,
    /** The commit pipeline (commit-pipeline.ts), as far as a channel deletion needs it. */
    private readonly publisher: {
      /** Resolves once every publish received so far is committed and acknowledged. */
      barrier(): Promise<void>;
      /** Drops what it still keeps of a deleted channel (its messages of a failed commit). */
      forget(channel: Channel): void;
    },
  ) {}

  add(cs: Channel['store']): Channel {
    const ch = new Channel(cs);
    this.byName.set(cs.name, ch);
    this.folded.set(cs.name.toLowerCase(), ch);
    return ch;
  }

  /** Looks up or lazily creates a channel; throws StoreError with a client-facing message. */
  getOrCreate(name: string): Channel {
    const ch = this.byName.get(name);
    if (ch !== undefined) {
      if (ch.deleting) throw new StoreError(E.ERR_CHANNEL_BEING_DELETED);
      return ch;
    }
    const clash = this.folded.get(name.toLowerCase());
    if (clash !== undefined) throw new StoreError(E.errChannelCaseClash(name, clash.name));
    const created = this.add(this.ctx.store.createChannel(name));
    this.ctx.log.notice(`Channel "${name}" has been created`);
    // A channel created by a publish has no subscription: its max_inactivity clock starts now
    // (a subscribe stops it again right after adding the subscription).
    this.checkInactivity(created);
    return created;
  }

  /** Starts (or stops) the max_inactivity timer of a channel (spec §3.2 item 7). */
  checkInactivity(ch: Channel): void {
    const limit = ch.store.limits.maxInactivity;
    if (limit <= 0 || this.ctx.closed()) return;
    this.ctx.clock.clearTimeout(ch.inactivityTimer);
    ch.inactivityTimer = undefined;
    if (ch.hasActiveSubs()) return;
    ch.inactivityTimer = this.ctx.clock.setTimeout(() => void this.deleteInactive(ch), limit);
  }

  stopTimers(): void {
    for (const ch of this.byName.values()) this.ctx.clock.clearTimeout(ch.inactivityTimer);
  }

  private async deleteInactive(ch: Channel): Promise<void> {
    ch.inactivityTimer = undefined;
    if (ch.hasActiveSubs() || this.byName.get(ch.name) !== ch) return;
    await this.deleteNow(ch, '');
  }

  /**
   * Deletes a channel that has no active subscription (offline durables go with it): its
   * messages and subscriptions, in memory and in the store (one ChannelDeleted event).
   * `why` is appended to the log line (the max_inactivity line keeps the reference's text).
   * Answers whether it was deleted (not when a subscription arrived while pending publishes
   * were committed) and, when the store's commit failed, its error: logged here for every
   * caller, and reported so that an administrator is not told the deletion is durable.
   */
  async deleteNow(ch: Channel, why: string): Promise<{ deleted: boolean; commitError?: unknown }> {
    ch.deleting = true;
    await this.publisher.barrier();
    if (ch.hasActiveSubs()) {
      ch.deleting = false;
      return { deleted: false };
    }
    this.ctx.clock.clearTimeout(ch.inactivityTimer);
    ch.inactivityTimer = undefined;
    for (const sub of ch.durables.values()) this.delivery.stopAckTimer(sub);
    for (const g of ch.queues.values()) if (g.shadow) this.delivery.stopAckTimer(g.shadow);
    this.ctx.store.deleteChannel(ch.name);
    this.publisher.forget(ch);
    this.byName.delete(ch.name);
    this.folded.delete(ch.name.toLowerCase());
    let commitError: unknown;
    try {
      await this.ctx.store.commit();
    } catch (err) {
      commitError = err;
      this.ctx.log.error(`Error deleting channel "${ch.name}": ${String(err)}`);
    }
    this.ctx.log.notice(`Channel "${ch.name}" has been deleted${why ? ` ${why}` : ''}`);
    return commitError === undefined ? { deleted: true } : { deleted: true, commitError };
  }
}
