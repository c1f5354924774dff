/**
 * The STAN core: answers the protocol requests of spec §3 over a NatsTransport and keeps the
 * runtime state (clients, channels, subscriptions) consistent with the store.
 *
 * This file wires the parts together and owns the lifecycle (listen early, recover, serve,
 * shut down). Each concern lives in its own module of src/stan (see index.ts).
 */
import type { Logger } from '../logging/logger';
import type { NatsTransport, TransportSubscription, MsgHandler, MsgRangeHandler } from '../nats/transport';
import type { StreamingOptions } from '../config/options';
import type { ServerInfo } from '../protocol/codec';
import { checkClusterID, type RecoveredState, type Store } from '../store/contract';
import { AdminActions } from './admin-actions';
import { Channels } from './channels';
import { Clients } from './clients';
import { systemClock, type Clock } from './clock';
import { CommitPipeline } from './commit-pipeline';
import type { CoreContext, StanCoreStats } from './context';
import { Delivery } from './delivery';
import { deadLetterCap } from './dead-letters';
import { EarlyRequests, refuseConnect, refusePing } from './early-requests';
import { errorText } from '../errors';
import { ChannelPartition, ClientRegistry } from './partitioning';
import { PublishHandler } from './publish';
import { Recovery } from './recovery';
import type { Channel, Client } from './state';
import { SubscriptionHandler } from './subscribe';
import { serverSubjects } from './subjects';
import { countSubscriptions } from './subscription-walk';

export type { StanCoreStats } from './context';
export type ServerState = 'STANDALONE' | 'FT_ACTIVE' | 'FT_STANDBY' | 'CLUSTERED' | 'FAILED' | 'SHUTDOWN';

/** Dead letters are not published by a client: no guid, no PubAck. */
const NO_GUID = new Uint8Array(0);

/** How many requests may be held while the store recovers (see early-requests.ts). */
const EARLY_LIMIT = 100_000;

/** Wraps each request handler: identity when serving, "hold until serving" before. */
type Dispatch = (run: () => void, refuse?: (why: string) => void) => void;

export class StanCore {
  readonly stats: StanCoreStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, redeliveries: 0, deadLettered: new Map() };
  private readonly delivery: Delivery;
  private readonly publisher: CommitPipeline;
  info: ServerInfo;
  private closed = false;
  private readonly ctx: CoreContext;
  private readonly clientsPart: Clients;
  private readonly channelsPart: Channels;
  private readonly publish: PublishHandler;
  private readonly subs: SubscriptionHandler;
  private readonly recovery: Recovery;
  /** Operator actions (the admin API's mutating calls). */
  readonly admin: AdminActions;
  private readonly subscriptions: TransportSubscription[] = [];
  /** Requests being handled (they may wait on a commit): shutdown lets them finish first. */
  private readonly inflight = new Set<Promise<void>>();
  /** Requests held while the store recovers (-ns or a nats-server child: clients come early). */
  private early: EarlyRequests | undefined;
  /** The subjects listenEarly() subscribed (the configured ones). */
  private earlySubjects: ServerInfo | undefined;

  constructor(
    private readonly opts: StreamingOptions,
    readonly store: Store,
    private readonly nc: NatsTransport,
    private readonly log: Logger,
    readonly clock: Clock = systemClock,
  ) {
    this.info = serverSubjects(opts.clusterID, opts.discoverPrefix);
    const ctx: CoreContext = {
      opts,
      store,
      nc,
      log,
      clock,
      stats: this.stats,
      routing: {},
      info: () => this.info,
      closed: () => this.closed,
      track: (p) => this.track(p),
      reply: (subject, bytes) => {
        if (subject) nc.publish(subject, bytes);
      },
    };
    this.ctx = ctx;
    const cap = deadLetterCap(ctx, { channel: (name) => this.channelsPart.getOrCreate(name), commit: (ch, seq) => this.publisher.add(ch, seq, NO_GUID, undefined) });
    this.delivery = new Delivery({ cap, transport: nc, logger: log, lookupClient: (id) => this.clientsPart.byID.get(id), stats: this.stats, clock });
    this.publisher = new CommitPipeline(store, nc, log, (ch) => this.delivery.deliverChannel(ch), clock);
    const barrier = (): Promise<void> => this.publisher.barrier();
    this.clientsPart = new Clients(ctx, { removeSub: (sub, unsubscribe) => this.subs.removeSub(sub, unsubscribe), barrier });
    this.channelsPart = new Channels(ctx, this.delivery, this.publisher);
    this.subs = new SubscriptionHandler(ctx, this.clientsPart, this.channelsPart, this.delivery, barrier);
    this.publish = new PublishHandler(ctx, this.clientsPart, this.channelsPart, this.publisher);
    this.recovery = new Recovery(ctx, this.clientsPart, this.channelsPart, this.subs, this.delivery);
    this.admin = new AdminActions({ ctx, clients: this.clientsPart, channels: this.channelsPart, delivery: this.delivery, publisher: this.publisher });
  }

  /** Registered clients by ID (read-only view for the monitor and tests). */
  get clients(): ReadonlyMap<string, Client> {
    return this.clientsPart.byID;
  }

  /** Channels by name (read-only view for the monitor and tests). */
  get channels(): ReadonlyMap<string, Channel> {
    return this.channelsPart.byName;
  }

  get subscriptionCount(): number {
    return countSubscriptions(this.channels.values());
  }

  /** Partitioning mode: call before recover()/listenEarly(). */
  enablePartitioning(partition: ChannelPartition): void {
    this.ctx.routing.partition = partition;
    this.ctx.routing.registry = new ClientRegistry();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Applies recovered state (persistent stores) or records a fresh ServerInfo. */
  recover(state: RecoveredState | null): void {
    if (state === null) {
      this.store.init(this.info);
      return;
    }
    // The store's recovery applies the same rule; this covers stores that do not check.
    checkClusterID(state.info.ClusterID, this.opts.clusterID, 'store');
    // Subjects come from the store: a store created by an older server keeps its names.
    const fresh = serverSubjects(this.opts.clusterID, this.opts.discoverPrefix);
    this.info = { ...state.info, SubClose: state.info.SubClose || fresh.SubClose };
    this.recovery.apply(state);
  }

  /**
   * The publish subscriptions: one `<prefix>.>` normally; with partitioning one per owned
   * channel (wildcards included) so that NATS routes each publish to its owner only. When
   * entries of our own list overlap, a publish matching several of them arrives once per
   * subscription: only the first matching entry's subscription handles it.
   */
  private subscribePublish(prefix: string, handler: MsgRangeHandler): TransportSubscription[] {
    const p = this.ctx.routing.partition;
    if (p === undefined) return [this.subscribeRange(`${prefix}.>`, handler)];
    const skip = prefix.length + 1;
    return p.channels.map((channel, i) =>
      this.subscribeRange(
        `${prefix}.${channel}`,
        p.selfOverlap ? (subj, reply, buf, start, end) => (p.firstMatch(subj.slice(skip)) === i ? handler(subj, reply, buf, start, end) : undefined) : handler,
      ),
    );
  }

  /** With the transport's range form when it has one (the embedded server's), else whole buffers. */
  private subscribeRange(subject: string, handler: MsgRangeHandler): TransportSubscription {
    if (this.nc.subscribeRange !== undefined) return this.nc.subscribeRange(subject, handler);
    return this.nc.subscribe(subject, (subj, reply, data) => handler(subj, reply, data, 0, data.length));
  }

  /** A publish received before the core serves: run once `dispatch` lets it. */
  private publishHeld(dispatch: Dispatch, subj: string, reply: string | undefined, buf: Uint8Array, start: number, end: number): void {
    dispatch(() => this.publish.onPublish(subj, reply, buf, start, end));
  }

  /** Subscribes every request subject of `s`, each handler run through `dispatch`. */
  private subscribeRequests(s: ServerInfo, dispatch: Dispatch): void {
    const nc = this.nc;
    const request = (f: (reply: string | undefined, data: Uint8Array) => Promise<void>): MsgHandler => {
      return (_subj, reply, data) => dispatch(() => this.track(f(reply, data)));
    };
    this.subscriptions.push(
      // Once serving, a publish runs directly: no closure per message for dispatch. The held
      // form's closure lives in publishHeld(): written here, V8 allocated a context for subj,
      // reply and data on every call, taken branch or not (~50 bytes per publish, measured).
      ...this.subscribePublish(s.Publish, (subj, reply, buf, start, end) =>
        this.early === undefined || this.early.serving
          ? this.publish.onPublish(subj, reply, buf, start, end)
          : this.publishHeld(dispatch, subj, reply, buf, start, end),
      ),
      nc.subscribe(s.Subscribe, request((reply, data) => this.subs.onSubscribe(reply, data))),
      nc.subscribe(s.Unsubscribe, request((reply, data) => this.subs.onUnsubscribe(reply, data, false))),
      nc.subscribe(s.SubClose, request((reply, data) => this.subs.onUnsubscribe(reply, data, true))),
      nc.subscribe(s.Close, request((reply, data) => this.clientsPart.onClose(reply, data))),
      // Connect requests are sent once: keep them flowing while NATS moves (cluster standby).
      nc.subscribe(s.Discovery, (_subj, reply, data) => dispatch(() => this.clientsPart.onConnect(reply, data), (why) => refuseConnect(nc, reply, why)), {
        clusterStandby: true,
      }),
      nc.subscribe(`${s.Discovery}.pings`, (_subj, reply, data) => dispatch(() => this.clientsPart.onPing(reply, data), (why) => refusePing(nc, reply, why))),
    );
  }

  /**
   * Requests that arrive while the store is being recovered (see ./early-requests.ts): with
   * -ns or a nats-server child, clients reach our subjects before we serve. Publishes,
   * subscription requests, connect requests and pings are held and handled in order as soon
   * as the server serves; if the start-up fails, held connects and pings get an error answer.
   */
  listenEarly(): void {
    const s = serverSubjects(this.opts.clusterID, this.opts.discoverPrefix);
    const early = new EarlyRequests(EARLY_LIMIT);
    this.early = early;
    this.subscribeRequests(s, (run, refuse) => early.add(run, refuse));
    this.earlySubjects = s;
  }

  /** The start-up failed: clients whose connect or ping is held are told `why`. */
  failEarly(why: string): void {
    this.early?.fail(why);
  }

  /** Subscribes to the request subjects and starts heartbeats: from here on clients are served. */
  startServing(): void {
    const s = this.info;
    const e = this.earlySubjects;
    // listenEarly() subscribed with the configured names; a store created by an older server
    // may have recovered other ones: then subscribe again with those.
    const same =
      e !== undefined && e.Publish === s.Publish && e.Subscribe === s.Subscribe && e.Unsubscribe === s.Unsubscribe && e.SubClose === s.SubClose && e.Close === s.Close && e.Discovery === s.Discovery;
    if (!same) {
      for (const sub of this.subscriptions) sub.unsubscribe();
      this.subscriptions.length = 0;
      this.subscribeRequests(s, (run) => run());
    }
    for (const c of this.clients.values()) this.clientsPart.heartbeats.schedule(c, this.opts.clientHBInterval);
    for (const ch of this.channels.values()) {
      for (const sub of ch.byAckInbox.values()) {
        // Most have nothing pending: no promise each (60,000 subscriptions at start-up).
        if (sub.pendingCount === 0) continue;
        // A read failure (database error, undecryptable row) is logged; it must not become
        // an unhandled rejection that ends the process.
        this.recovery
          .redeliverRecovered(sub)
          .catch((err: unknown) => this.log.error(`Unable to redeliver recovered messages of channel "${ch.name}" (subid=${sub.id}): ${errorText(err)}`));
      }
      this.delivery.deliverChannel(ch);
      this.channelsPart.checkInactivity(ch);
    }
    this.early?.release();
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    p.catch((err: unknown) => this.log.error(`Unexpected error handling a request: ${String(err)}`)).finally(() => this.inflight.delete(p));
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // No commit of the pipeline's own after a failed one from here on (the store closes next,
    // or, after an FT step-down, refuses every write).
    this.publisher.close();
    for (const s of this.subscriptions) s.unsubscribe();
    this.ctx.routing.registry?.close();
    await Promise.allSettled([...this.inflight]);
    await this.publisher.barrier();
    this.clientsPart.stopTimers();
    this.channelsPart.stopTimers();
    for (const ch of this.channels.values()) {
      for (const sub of ch.byAckInbox.values()) this.delivery.stopAckTimer(sub);
    }
    this.subs.closeAckInboxes();
  }
}
