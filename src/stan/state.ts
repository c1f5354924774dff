/**
 * The in-memory runtime state of the STAN core: clients, channels, subscriptions, queue groups.
 * Plain data holders with small invariant-keeping helpers; the behaviour lives in
 * delivery.ts (sending, acks, redelivery) and server.ts (request handling).
 */
import type { ClientInfo, SubState } from '../protocol/codec';
import type { ChannelStore } from '../store/contract';
import type { TransportSubscription } from '../nats/transport';
import type { TimerHandle } from './clock';
import { PendingAcks } from './pending-acks';

export class Client {
  /** Failed server→client heartbeats in a row (spec §1.4). */
  failedHB = 0;
  hbTimer: TimerHandle | undefined;
  readonly subs = new Set<Subscription>();
  /** Set while the client is being closed so late events do not resurrect it. */
  closing = false;

  constructor(public info: ClientInfo, public readonly connKey: string) {}

  get id(): string {
    return this.info.ID;
  }
}

/** Bytes are compared by value; a latin1 string is a cheap exact map key for them. */
export function connIDKey(connID: Uint8Array | undefined): string {
  if (!connID || connID.length === 0) return '';
  return Buffer.from(connID.buffer, connID.byteOffset, connID.byteLength).toString('latin1');
}

export class Subscription {
  /**
   * Created on first use, like ownCounts: 60,000 empty Maps were ~12 MB of the heap recovered
   * with 60,000 durables (docs/performance.md, "Restart"). Read pendingCount to test for
   * pending messages without creating it.
   */
  private pendingMap: PendingAcks | undefined;
  /** Created on first use: most subscriptions never redeliver (60,000 recovered ones = 60,000 Maps). */
  private ownCounts: Map<number, number> | undefined;
  ackTimer: TimerHandle | undefined;
  /** When the ack timer fires (ms since epoch); 0 = not armed. */
  ackTimerAt = 0;
  ackSub: TransportSubscription | undefined;
  /** True while pending messages of a resumed durable are redelivered; new messages wait. */
  holdNew = false;
  /** Guards against concurrent pumps when a store read is asynchronous. */
  pumping = false;
  /** Guards the (possibly asynchronous) redelivery pass. */
  redelivering = false;
  /** Bumped by an operator's reset of the position: see Delivery.resetPosition. */
  positionEpoch = 0;
  group: QueueGroup | undefined;
  /**
   * False between a subscribe's registration and its SubscriptionResponse: nothing may be sent
   * to a subscription whose client does not know its ack inbox yet (spec §3.3).
   */
  ready = true;

  constructor(public state: SubState, public readonly channel: Channel) {}

  /** seq → expiration time (ms since epoch); 0 = unknown (recovered), see spec §3.5. A ring for in-order deliveries (pending-acks.ts). */
  get acksPending(): PendingAcks {
    return (this.pendingMap ??= new PendingAcks());
  }
  /** Messages sent and not acknowledged. */
  get pendingCount(): number {
    return this.pendingMap === undefined ? 0 : this.pendingMap.size;
  }
  get id(): number {
    return this.state.ID;
  }
  get isQueue(): boolean {
    return this.group !== undefined;
  }
  get isOffline(): boolean {
    return this.state.isClosed || this.state.clientID === '';
  }
  get ackWaitMs(): number {
    return this.state.ackWaitInSecs * 1000;
  }
  get isStalled(): boolean {
    return this.acksPending.size >= this.state.maxInFlight;
  }
  /** Plain subscriptions count redeliveries per sequence; queue members use the group's map. */
  get redeliveries(): Map<number, number> {
    return (this.ownCounts ??= new Map());
  }
  get redeliveryCounts(): Map<number, number> {
    return this.group ? this.group.redeliveries : this.redeliveries;
  }
}

export class QueueGroup {
  readonly members: Subscription[] = [];
  /** Created on first use, like Subscription's: 20,000 recovered groups (scale bench) were 20,000 empty Maps (~1.8 MB of the recovered heap). */
  private counts: Map<number, number> | undefined;
  /**
   * A durable queue group whose last member left with Close keeps its position and pending
   * messages in a "shadow" subscription (clientID "") until a member joins again (§3.6).
   */
  shadow: Subscription | undefined;
  pumping = false;
  /** Bumped by an operator's reset of the position: see Delivery.resetPosition. */
  positionEpoch = 0;
  /**
   * Members still redelivering their recovered pending messages at start-up; new messages
   * for the group wait until it is back to 0 (spec §3.5).
   */
  startupHolds = 0;

  constructor(public readonly name: string, public readonly durable: boolean, public lastSent: number) {}

  /** Redeliveries per sequence, counted per group (max deliveries). */
  get redeliveries(): Map<number, number> {
    return (this.counts ??= new Map());
  }
}

export class Channel {
  /** Highest sequence assigned to a publish (stored, maybe not yet committed). */
  nextSeq: number;
  /** Highest sequence whose commit completed: delivery never goes past it. */
  deliverableSeq: number;
  /** Last assigned timestamp (ns); timestamps never go back within a channel. */
  lastTimestamp = 0;
  /** Online plain and durable subscriptions (not queue members). */
  readonly plainSubs = new Set<Subscription>();
  /** Durable subscriptions (online or offline) by durable key. */
  readonly durables = new Map<string, Subscription>();
  readonly queues = new Map<string, QueueGroup>();
  /** Every live subscription (incl. queue members) by ack inbox. */
  readonly byAckInbox = new Map<string, Subscription>();
  inactivityTimer: TimerHandle | undefined;
  deleting = false;
  /** The "Reached limits" notice was logged for this channel (once per channel, as the reference). */
  limitWarned = false;

  constructor(public readonly store: ChannelStore) {
    this.nextSeq = store.msgs.lastSeq;
    this.deliverableSeq = store.msgs.lastSeq;
    this.lastTimestamp = store.msgs.lastTimestamp;
  }

  get name(): string {
    return this.store.name;
  }

  /** Subscriptions that keep a channel alive for max_inactivity (offline durables don't). */
  hasActiveSubs(): boolean {
    if (this.plainSubs.size > 0) return true;
    for (const g of this.queues.values()) if (g.members.length > 0) return true;
    return false;
  }
}

/**
 * Joined, not concatenated: a concatenation of 13+ characters is a tree of V8 "cons strings"
 * (three objects here) that stays one as a Map key, while join makes one flat string; the key
 * of each of the 30,000 durables recovered at a restart of the scale scenario is kept for good.
 */
export function durableKey(clientID: string, channel: string, durableName: string): string {
  return [clientID, channel, durableName].join('-');
}
