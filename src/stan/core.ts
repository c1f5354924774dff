/**
 * The STAN core: answers the protocol requests of spec §3 over a NatsTransport and keeps the
 * runtime state (clients, channels, subscriptions) consistent with the store.
 */
import type { Logger } from '../logging/logger';
import type { NatsTransport, TransportSubscription } from '../nats/transport';
import type { StreamingOptions } from '../config/options';
import {
  AckCodec,
  ClientInfo,
  CloseRequestCodec,
  CloseResponseCodec,
  ConnectRequest,
  ConnectRequestCodec,
  ConnectResponseCodec,
  isCtrlMsg,
  PingCodec,
  PingResponseCodec,
  PubAckCodec,
  ServerInfo,
  StartPosition,
  SubscriptionRequest,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
  SubState,
  UnsubscribeRequest,
  UnsubscribeRequestCodec,
} from '../protocol/codec';
import { decodePubMsgRaw, newPubMsgRaw } from '../protocol/fast';
import { RecoveredState, Store, StoreError, StoreUnavailableError } from '../store/types';
import { Delivery } from './delivery';
import * as E from './errors';
import { PublishPipeline } from './commit-pipeline';
import { firstSeqBeforeStore, noticeIfLimitReached } from './limit-notice';
import { Channel, Client, connIDKey, durableKey, QueueGroup, Subscription } from './state';
import { isValidClientID, serverSubjects } from './subjects';
import { isValidChannelName } from '../subject';
import { ChannelPartition, ClientRegistry } from './partitioning';
import type { MsgHandler } from '../nats/transport';
import { EarlyRequests, refuseConnect, refusePing } from './early-requests';

/** How long the liveness probe of an already registered client ID waits (spec §3.1). */
const DUP_CLIENT_PROBE_MS = 500;

export type ServerState = 'STANDALONE' | 'FT_ACTIVE' | 'FT_STANDBY' | 'FAILED' | 'SHUTDOWN';

export interface StanCoreStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  /** Messages sent with redelivered=true. */
  redeliveries: number;
}

/** True when `cached` holds exactly the bytes buf[start, end). */
function sameBytes(cached: Buffer | undefined, buf: Buffer, start: number, end: number): boolean {
  return cached !== undefined && cached.length === end - start && buf.compare(cached, 0, cached.length, start, end) === 0;
}

/** Current time in Unix nanoseconds, with sub-millisecond resolution. */
function nowNanos(): number {
  // Wall clock (as the reference's time.Now().UnixNano()), with the monotonic clock's
  // sub-millisecond digits for resolution; channels clamp it to be non-decreasing.
  return Date.now() * 1e6 + Math.floor((performance.now() % 1) * 1e6);
}

export class StanCore {
  readonly clients = new Map<string, Client>();
  private readonly clientsByConn = new Map<string, Client>();
  readonly channels = new Map<string, Channel>();
  /** Lower-cased channel name → channel, to refuse names differing only by case. */
  private readonly channelsFolded = new Map<string, Channel>();
  private readonly dupChecks = new Set<string>();
  private readonly subscriptions: TransportSubscription[] = [];
  readonly stats: StanCoreStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, redeliveries: 0 };
  readonly delivery: Delivery;
  readonly publisher: PublishPipeline;
  info: ServerInfo;
  private closed = false;
  /** Partitioning (spec §7.2): the channels this server owns; undefined = all. */
  private partition: ChannelPartition | undefined;
  /** Partitioning: lets requests of a not yet registered client wait for its connect. */
  private registry: ClientRegistry | undefined;

  constructor(
    private readonly opts: StreamingOptions,
    readonly store: Store,
    private readonly nc: NatsTransport,
    private readonly log: Logger,
  ) {
    this.info = serverSubjects(opts.clusterID, opts.discoverPrefix);
    this.delivery = new Delivery({
      transport: nc,
      logger: log,
      lookupClient: (id) => this.clients.get(id),
      stats: this.stats,
    });
    this.publisher = new PublishPipeline(store, nc, log, opts.ioBatchSize);
    this.publisher.onCommitted = (ch) => this.delivery.deliverChannel(ch);
  }

  /** Partitioning mode: call before recover()/listenEarly(). */
  enablePartitioning(partition: ChannelPartition): void {
    this.partition = partition;
    this.registry = new ClientRegistry();
  }

  /**
   * The publish subscriptions: one `<prefix>.>` normally; with partitioning one per owned
   * channel (wildcards included) so that NATS routes each publish to its owner only. When
   * entries of our own list overlap, a publish matching several of them arrives once per
   * subscription: only the first matching entry's subscription handles it.
   */
  private subscribePublish(prefix: string, handler: MsgHandler): TransportSubscription[] {
    const p = this.partition;
    if (p === undefined) return [this.nc.subscribe(`${prefix}.>`, handler)];
    const skip = prefix.length + 1;
    return p.channels.map((channel, i) =>
      this.nc.subscribe(
        `${prefix}.${channel}`,
        p.selfOverlap ? (subj, reply, data) => (p.firstMatch(subj.slice(skip)) === i ? handler(subj, reply, data) : undefined) : handler,
      ),
    );
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) {
      n += ch.plainSubs.size;
      for (const d of ch.durables.values()) if (d.isOffline) n++;
      for (const g of ch.queues.values()) n += g.members.length + (g.shadow && g.members.length === 0 ? 1 : 0);
    }
    return n;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Applies recovered state (persistent stores) or records a fresh ServerInfo. */
  recover(state: RecoveredState | null): void {
    if (state === null) {
      this.store.init(this.info);
      return;
    }
    if (state.info.ClusterID !== this.opts.clusterID) {
      throw new Error(`cluster ID "${this.opts.clusterID}" does not match recovered value of "${state.info.ClusterID}"`);
    }
    // Subjects come from the store: a store created by an older server keeps its names.
    const fresh = serverSubjects(this.opts.clusterID, this.opts.discoverPrefix);
    this.info = { ...state.info, SubClose: state.info.SubClose || fresh.SubClose };
    for (const ci of state.clients) this.registerClient(ci);
    for (const rc of state.channels) {
      const ch = this.addChannel(rc.channel);
      for (const rs of rc.subs) this.restoreSub(ch, rs.state, rs.pending);
    }
  }

  private restoreSub(ch: Channel, st: SubState, pending: number[]): void {
    const sub = new Subscription(st, ch);
    for (const seq of pending) sub.acksPending.set(seq, 0);
    const online = st.clientID !== '' && !st.isClosed && this.clients.has(st.clientID);
    if (st.qGroup) {
      let g = ch.queues.get(st.qGroup);
      if (!g) {
        g = new QueueGroup(st.qGroup, st.isDurable, st.lastSent);
        ch.queues.set(st.qGroup, g);
      }
      if (st.lastSent > g.lastSent) g.lastSent = st.lastSent;
      sub.group = g;
      if (online) {
        g.members.push(sub);
      } else if (st.isDurable) {
        g.shadow = sub;
        return;
      } else {
        this.store.lookupChannel(ch.name)?.subs.deleteSub(st.ID);
        return;
      }
    } else if (st.isDurable) {
      ch.durables.set(durableKey(st.clientID, ch.name, st.durableName), sub);
      if (!online) {
        sub.state.isClosed = true;
        return;
      }
      ch.plainSubs.add(sub);
    } else {
      if (!online) {
        // A plain subscription whose client did not come back is gone (reference behaviour).
        ch.store.subs.deleteSub(st.ID);
        return;
      }
      ch.plainSubs.add(sub);
    }
    this.clients.get(st.clientID)?.subs.add(sub);
    this.attachAckInbox(sub);
  }

  /**
   * Requests that arrive while the store is being recovered (see ./early-requests.ts): with
   * -ns or a nats-server child, clients reach our subjects before we serve. Publishes,
   * subscription requests, connect requests and pings are held and handled in order as soon
   * as the server serves; if the start-up fails, held connects and pings get an error answer.
   */
  private early: EarlyRequests | undefined;
  private static readonly EARLY_LIMIT = 100_000;

  listenEarly(): void {
    const s = serverSubjects(this.opts.clusterID, this.opts.discoverPrefix);
    const early = new EarlyRequests(StanCore.EARLY_LIMIT);
    this.early = early;
    const queue = (f: () => void): void => early.add(f);
    this.subscriptions.push(
      ...this.subscribePublish(s.Publish, (subj, reply, data) => queue(() => this.onPublish(subj, reply, data))),
      this.nc.subscribe(s.Subscribe, (_subj, reply, data) => queue(() => this.track(this.onSubscribe(reply, data)))),
      this.nc.subscribe(s.Unsubscribe, (_subj, reply, data) => queue(() => this.track(this.onUnsubscribe(reply, data, false)))),
      this.nc.subscribe(s.SubClose, (_subj, reply, data) => queue(() => this.track(this.onUnsubscribe(reply, data, true)))),
      this.nc.subscribe(s.Close, (_subj, reply, data) => queue(() => this.track(this.onCloseClient(reply, data)))),
      // Connect requests are sent once: keep them flowing while NATS moves (cluster standby).
      this.nc.subscribe(s.Discovery, (_subj, reply, data) => early.add(() => this.onConnect(reply, data), (why) => refuseConnect(this.nc, reply, why)), { clusterStandby: true }),
      this.nc.subscribe(`${s.Discovery}.pings`, (_subj, reply, data) => early.add(() => this.onPing(reply, data), (why) => refusePing(this.nc, reply, why))),
    );
    this.earlySubjects = s;
  }
  private earlySubjects: ServerInfo | undefined;

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
      this.subscriptions.push(
        ...this.subscribePublish(s.Publish, (subj, reply, data) => this.onPublish(subj, reply, data)),
        this.nc.subscribe(s.Subscribe, (_subj, reply, data) => this.track(this.onSubscribe(reply, data))),
        this.nc.subscribe(s.Unsubscribe, (_subj, reply, data) => this.track(this.onUnsubscribe(reply, data, false))),
        this.nc.subscribe(s.SubClose, (_subj, reply, data) => this.track(this.onUnsubscribe(reply, data, true))),
        this.nc.subscribe(s.Close, (_subj, reply, data) => this.track(this.onCloseClient(reply, data))),
        this.nc.subscribe(s.Discovery, (_subj, reply, data) => this.onConnect(reply, data), { clusterStandby: true }),
        this.nc.subscribe(`${s.Discovery}.pings`, (_subj, reply, data) => this.onPing(reply, data)),
      );
    }
    for (const c of this.clients.values()) this.scheduleHB(c, this.opts.clientHBInterval);
    // Recovered pending messages: expirations are unknown, so they are set from the message
    // timestamps and the expired ones redelivered before new messages flow (spec §3.5).
    for (const ch of this.channels.values()) {
      for (const sub of ch.byAckInbox.values()) {
        // A read failure (database error, undecryptable row) is logged; it must not become
        // an unhandled rejection that ends the process.
        this.redeliverRecovered(sub).catch((err: unknown) => this.log.error(`Unable to redeliver recovered messages of channel "${ch.name}" (subid=${sub.id}): ${err instanceof Error ? err.message : String(err)}`));
      }
      this.delivery.deliverChannel(ch);
      this.checkInactivity(ch);
    }
    this.early?.release();
  }

  private async redeliverRecovered(sub: Subscription): Promise<void> {
    if (sub.acksPending.size === 0) return;
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

  /** Requests being handled (they may wait on a commit): shutdown lets them finish first. */
  private readonly inflight = new Set<Promise<void>>();

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    p.catch((err: unknown) => this.log.error(`Unexpected error handling a request: ${String(err)}`)).finally(() => this.inflight.delete(p));
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) s.unsubscribe();
    this.registry?.close();
    await Promise.allSettled([...this.inflight]);
    await this.publisher.barrier();
    for (const c of this.clients.values()) if (c.hbTimer) clearTimeout(c.hbTimer);
    for (const ch of this.channels.values()) {
      if (ch.inactivityTimer) clearTimeout(ch.inactivityTimer);
      for (const sub of ch.byAckInbox.values()) {
        this.delivery.stopAckTimer(sub);
        sub.ackSub?.unsubscribe();
      }
    }
  }

  // ---------------------------------------------------------------- clients

  private registerClient(info: ClientInfo): Client {
    const c = new Client(info, connIDKey(info.ConnID));
    this.clients.set(info.ID, c);
    if (c.connKey) this.clientsByConn.set(c.connKey, c);
    this.registry?.registered(info.ID, c.connKey);
    return c;
  }

  private reply(subject: string | undefined, bytes: Uint8Array): void {
    if (subject) this.nc.publish(subject, bytes);
  }

  private connectError(reply: string | undefined, error: string): void {
    this.reply(reply, ConnectResponseCodec.encode({ error }));
  }

  private onConnect(reply: string | undefined, data: Uint8Array): void {
    let req: ConnectRequest;
    try {
      req = ConnectRequestCodec.decode(data);
    } catch {
      this.log.error(`Invalid connection request: unable to decode`);
      return this.connectError(reply, E.ERR_INVALID_CONN_REQ);
    }
    if (!req.heartbeatInbox) {
      this.log.error(`[Client:${req.clientID}] Invalid connection request: missing heartbeat inbox`);
      return this.connectError(reply, E.ERR_INVALID_CONN_REQ);
    }
    if (!isValidClientID(req.clientID)) {
      this.log.error(`[Client:${req.clientID}] Invalid client ID`);
      return this.connectError(reply, E.ERR_INVALID_CLIENT_ID);
    }
    const existing = this.clients.get(req.clientID);
    if (!existing) return void this.acceptClient(req, reply, false);
    if (this.dupChecks.has(req.clientID)) {
      this.log.error(`[Client:${req.clientID}] Connect failed; already registered (check in progress)`);
      return this.connectError(reply, E.ERR_CLIENT_ID_REGISTERED);
    }
    // Is the old connection alive? Ask its heartbeat inbox before replacing it (spec §3.1).
    this.dupChecks.add(req.clientID);
    this.nc.request(existing.info.HbInbox, new Uint8Array(0), DUP_CLIENT_PROBE_MS).then(
      () => {
        this.dupChecks.delete(req.clientID);
        this.log.error(`[Client:${req.clientID}] Connect failed; already registered and the existing client answered`);
        this.connectError(reply, E.ERR_CLIENT_ID_REGISTERED);
      },
      async () => {
        try {
          // Close whichever client holds the ID now: it may have changed during the probe.
          const current = this.clients.get(req.clientID);
          if (current !== undefined) {
            await this.closeClient(current, 'replaced');
            this.log.debug(`[Client:${req.clientID}] Replaced old client (Inbox=${current.info.HbInbox})`);
          }
          await this.acceptClient(req, reply, true);
        } finally {
          this.dupChecks.delete(req.clientID);
        }
      },
    );
  }

  private async acceptClient(req: ConnectRequest, reply: string | undefined, replaced: boolean): Promise<void> {
    const info: ClientInfo = {
      ID: req.clientID,
      HbInbox: req.heartbeatInbox,
      ConnID: req.connID ?? new Uint8Array(0),
      Protocol: req.protocol,
      PingInterval: req.pingInterval,
      PingMaxOut: req.pingMaxOut,
    };
    let client: Client;
    try {
      client = this.registerClient(info);
      this.store.addClient(info);
      await this.store.commit();
    } catch (err) {
      this.clients.delete(req.clientID);
      this.clientsByConn.delete(connIDKey(req.connID));
      const msg = err instanceof Error ? err.message : String(err);
      this.log.error(`[Client:${req.clientID}] Error registering client: ${msg}`);
      return this.connectError(reply, msg);
    }
    const s = this.info;
    const proto1 = req.protocol >= 1;
    this.reply(
      reply,
      ConnectResponseCodec.encode({
        pubPrefix: s.Publish,
        subRequests: s.Subscribe,
        unsubRequests: s.Unsubscribe,
        closeRequests: s.Close,
        subCloseRequests: s.SubClose,
        // Ping fields only for protocol-1 clients; default values are left out, as proto3 does.
        ...(proto1 ? { pingRequests: `${s.Discovery}.pings` } : {}),
        ...(proto1 && req.pingInterval ? { pingInterval: req.pingInterval } : {}),
        ...(proto1 && req.pingMaxOut ? { pingMaxOut: req.pingMaxOut } : {}),
        protocol: 1,
      }),
    );
    this.scheduleHB(client, this.opts.clientHBInterval);
    if (!replaced) this.log.debug(`[Client:${req.clientID}] Connected (Inbox=${req.heartbeatInbox})`);
  }

  /** Closes a client as a CloseRequest does: plain subs removed, durables offline (§3.7). */
  async closeClient(c: Client, why: string): Promise<void> {
    if (c.closing) return;
    c.closing = true;
    if (c.hbTimer) clearTimeout(c.hbTimer);
    c.hbTimer = undefined;
    for (const sub of [...c.subs]) this.removeSub(sub, false);
    // A replacement may already have registered a new client under this ID: keep it, in
    // memory and in the store.
    if (this.clients.get(c.id) === c) {
      this.clients.delete(c.id);
      this.store.deleteClient(c.id);
    }
    if (c.connKey && this.clientsByConn.get(c.connKey) === c) this.clientsByConn.delete(c.connKey);
    try {
      await this.store.commit();
    } catch (err) {
      this.log.error(`[Client:${c.id}] Error closing client: ${String(err)}`);
    }
    if (why !== 'replaced') this.log.debug(`[Client:${c.id}] Closed (Inbox=${c.info.HbInbox})`);
  }

  private async onCloseClient(reply: string | undefined, data: Uint8Array): Promise<void> {
    let clientID: string;
    try {
      clientID = CloseRequestCodec.decode(data).clientID;
    } catch {
      this.log.error('Received invalid close request');
      return this.reply(reply, CloseResponseCodec.encode({ error: E.ERR_INVALID_CLOSE_REQ }));
    }
    await this.publisher.barrier();
    const c = this.clients.get(clientID);
    if (!c) {
      this.log.error(`[Client:${clientID}] Close request for unknown client`);
      return this.reply(reply, CloseResponseCodec.encode({ error: E.ERR_UNKNOWN_CLIENT }));
    }
    await this.closeClient(c, 'request');
    this.reply(reply, CloseResponseCodec.encode({}));
  }

  private onPing(reply: string | undefined, data: Uint8Array): void {
    if (data.length === 0) return;
    let connID: Uint8Array;
    try {
      connID = PingCodec.decode(data).connID;
    } catch {
      return;
    }
    const c = this.clientsByConn.get(connIDKey(connID));
    if (c === undefined) {
      this.reply(reply, PingResponseCodec.encode({ error: E.ERR_CLIENT_REPLACED }));
      return;
    }
    this.reply(reply, new Uint8Array(0));
    // The client pings us, so it is alive: re-check its heartbeat soon to clear the failure.
    if (c.failedHB > 0) this.scheduleHB(c, 1);
  }

  // ---------------------------------------------------------------- heartbeats

  private scheduleHB(c: Client, delay: number): void {
    if (this.closed || c.closing) return;
    if (c.hbTimer) clearTimeout(c.hbTimer);
    c.hbTimer = setTimeout(() => this.sendHB(c), delay);
  }

  private sendHB(c: Client): void {
    c.hbTimer = undefined;
    if (this.closed || c.closing) return;
    this.nc.request(c.info.HbInbox, new Uint8Array(0), this.opts.clientHBTimeout).then(
      () => {
        c.failedHB = 0;
        this.scheduleHB(c, this.opts.clientHBInterval);
      },
      () => {
        if (this.closed || c.closing) return;
        c.failedHB++;
        if (c.failedHB > this.opts.clientHBFailCount) {
          this.log.debug(`[Client:${c.id}] Timed out on heartbeats`);
          void this.closeClient(c, 'heartbeats');
          return;
        }
        this.scheduleHB(c, this.opts.clientHBInterval);
      },
    );
  }

  // ---------------------------------------------------------------- channels

  private addChannel(cs: Channel['store']): Channel {
    const ch = new Channel(cs);
    this.channels.set(cs.name, ch);
    this.channelsFolded.set(cs.name.toLowerCase(), ch);
    return ch;
  }

  /** Looks up or lazily creates a channel; throws StoreError with a client-facing message. */
  private getOrCreateChannel(name: string): Channel {
    const ch = this.channels.get(name);
    if (ch !== undefined) {
      if (ch.deleting) throw new StoreError(E.ERR_CHANNEL_BEING_DELETED);
      return ch;
    }
    const clash = this.channelsFolded.get(name.toLowerCase());
    if (clash !== undefined) throw new StoreError(E.errChannelCaseClash(name, clash.name));
    const created = this.addChannel(this.store.createChannel(name));
    this.log.notice(`Channel "${name}" has been created`);
    // A channel created by a publish has no subscription: its max_inactivity clock starts now
    // (a subscribe stops it again right after adding the subscription).
    this.checkInactivity(created);
    return created;
  }

  /** Starts (or stops) the max_inactivity timer of a channel (spec §3.2 item 7). */
  checkInactivity(ch: Channel): void {
    const limit = ch.store.limits.maxInactivity;
    if (limit <= 0 || this.closed) return;
    if (ch.inactivityTimer) clearTimeout(ch.inactivityTimer);
    ch.inactivityTimer = undefined;
    if (ch.hasActiveSubs()) return;
    ch.inactivityTimer = setTimeout(() => void this.deleteInactiveChannel(ch), limit);
  }

  private async deleteInactiveChannel(ch: Channel): Promise<void> {
    ch.inactivityTimer = undefined;
    if (ch.hasActiveSubs() || this.channels.get(ch.name) !== ch) return;
    ch.deleting = true;
    await this.publisher.barrier();
    if (ch.hasActiveSubs()) {
      ch.deleting = false;
      return;
    }
    for (const sub of ch.durables.values()) this.delivery.stopAckTimer(sub);
    for (const g of ch.queues.values()) if (g.shadow) this.delivery.stopAckTimer(g.shadow);
    this.store.deleteChannel(ch.name);
    this.channels.delete(ch.name);
    this.channelsFolded.delete(ch.name.toLowerCase());
    try {
      await this.store.commit();
    } catch (err) {
      this.log.error(`Error deleting channel "${ch.name}": ${String(err)}`);
    }
    this.log.notice(`Channel "${ch.name}" has been deleted`);
  }

  // ---------------------------------------------------------------- publish

  private pubAckError(reply: string | undefined, guid: string, error: string): void {
    this.reply(reply, PubAckCodec.encode(guid ? { guid, error } : { error }));
  }

  /** Reused by every publish: the decoder fills byte ranges in place (no allocation). */
  private readonly rawPub = newPubMsgRaw();
  /** One-entry caches: publishers repeat the same channel and connection, message after message. */
  private lastSubject: Buffer | undefined;
  private lastSubjectChannel: Channel | undefined;
  private lastConnID: Buffer | undefined;
  private lastConnClient: Client | undefined;

  private onPublish(natsSubject: string, reply: string | undefined, data: Uint8Array, waited = false): void {
    const r = this.rawPub;
    try {
      decodePubMsgRaw(data, r);
    } catch {
      if (isCtrlMsg(data)) return;
      this.log.error(`Received invalid publish request on "${natsSubject}": unable to decode`);
      return this.pubAckError(reply, '', E.ERR_INVALID_PUB_REQ);
    }
    const buf = r.buf;
    if (r.guid1 === r.guid0) return this.invalidPublish(reply, 'missing guid');

    let c: Client | undefined;
    if (r.connID1 > r.connID0) {
      const cached = this.lastConnClient;
      if (cached !== undefined && !cached.closing && sameBytes(this.lastConnID, buf, r.connID0, r.connID1)) {
        c = cached;
      } else {
        const connID = buf.subarray(r.connID0, r.connID1);
        c = this.clientsByConn.get(connIDKey(connID));
        if (c !== undefined) {
          this.lastConnID = Buffer.from(connID);
          this.lastConnClient = c;
        }
      }
    } else {
      c = this.clients.get(buf.toString('utf8', r.clientID0, r.clientID1));
    }
    if (c === undefined && this.registry !== undefined && !waited) return this.publishWhenRegistered(natsSubject, reply, data);

    let ch: Channel | undefined = this.lastSubjectChannel;
    if (ch === undefined || ch.deleting || !sameBytes(this.lastSubject, buf, r.subject0, r.subject1)) {
      const subject = buf.toString('utf8', r.subject0, r.subject1);
      if (!isValidChannelName(subject)) return this.invalidPublish(reply, `invalid subject "${subject}"`);
      if (c === undefined) return this.invalidPublish(reply, `unknown client (subject="${subject}")`);
      // Only channels of our partition are created (the NATS subject matched our list, but
      // PubMsg.subject is what counts).
      if (this.partition !== undefined && !this.partition.owns(subject)) {
        return this.invalidPublish(reply, `channel "${subject}" is not handled by this server (partitioning)`);
      }
      try {
        ch = this.getOrCreateChannel(subject);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        this.log.error(`[Client:${c.id}] Unable to create channel "${subject}": ${msg}`);
        return this.pubAckError(reply, buf.toString('utf8', r.guid0, r.guid1), msg);
      }
      this.lastSubject = Buffer.from(buf.subarray(r.subject0, r.subject1));
      this.lastSubjectChannel = ch;
    } else if (c === undefined) {
      return this.invalidPublish(reply, `unknown client (subject="${ch.name}")`);
    }

    const seq = ch.nextSeq + 1;
    let ts = nowNanos();
    if (ts < ch.lastTimestamp) ts = ch.lastTimestamp;
    const msgReply = r.reply1 > r.reply0 ? buf.toString('utf8', r.reply0, r.reply1) : '';
    const firstBefore = firstSeqBeforeStore(ch);
    try {
      ch.store.msgs.store({ seq, timestamp: ts, subject: ch.name, reply: msgReply, data: buf.subarray(r.data0, r.data1) });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      // A failed store logs its incident itself: no line per refused publish.
      if (!(err instanceof StoreUnavailableError)) this.log.error(`[Client:${c.id}] Unable to store message on "${ch.name}": ${msg}`);
      return this.pubAckError(reply, buf.toString('utf8', r.guid0, r.guid1), msg);
    }
    noticeIfLimitReached(ch, firstBefore, this.log);
    ch.nextSeq = seq;
    ch.lastTimestamp = ts;
    this.stats.inMsgs++;
    this.stats.inBytes += data.length;
    if (this.log.isTrace) {
      this.log.trace(`[Client:${c.id}] Received message from publisher subj=${ch.name} guid=${buf.toString('utf8', r.guid0, r.guid1)}`);
    }
    if (ch.inactivityTimer) this.checkInactivity(ch);
    // The guid bytes are a view of the request: the pipeline copies them into the PubAck.
    this.publisher.add(ch, seq, buf.subarray(r.guid0, r.guid1), reply);
  }

  /**
   * Partitioning: the publisher is not registered here (yet): wait for its connect, then
   * handle the publish once more (spec §3.2 step 3). The payload is copied: the transport
   * may reuse its buffer.
   */
  private publishWhenRegistered(natsSubject: string, reply: string | undefined, data: Uint8Array): void {
    const registry = this.registry;
    if (registry === undefined) return;
    const r = this.rawPub;
    const copy = Buffer.from(data);
    let key: string;
    let isKnown: () => boolean;
    if (r.connID1 > r.connID0) {
      const ck = connIDKey(r.buf.subarray(r.connID0, r.connID1));
      key = ClientRegistry.connKey(ck);
      isKnown = () => this.clientsByConn.has(ck);
    } else {
      const id = r.buf.toString('utf8', r.clientID0, r.clientID1);
      key = ClientRegistry.idKey(id);
      isKnown = () => this.clients.has(id);
    }
    const p = registry.waitFor(key, isKnown).then(() => {
      if (!this.closed) this.onPublish(natsSubject, reply, copy, true);
    });
    this.track(p);
  }

  /** `stan: invalid publish request` with a log line naming the cause (spec §3.2). */
  private invalidPublish(reply: string | undefined, why: string): void {
    const r = this.rawPub;
    const clientID = r.buf.toString('utf8', r.clientID0, r.clientID1);
    const guid = r.buf.toString('utf8', r.guid0, r.guid1);
    this.log.error(`[Client:${clientID}] Received invalid publish request: ${why} (guid="${guid}")`);
    this.pubAckError(reply, guid, E.ERR_INVALID_PUB_REQ);
  }

  // ---------------------------------------------------------------- subscribe

  private subError(reply: string | undefined, error: string): void {
    this.reply(reply, SubscriptionResponseCodec.encode({ error }));
  }

  private async onSubscribe(reply: string | undefined, data: Uint8Array): Promise<void> {
    let req: SubscriptionRequest;
    try {
      req = SubscriptionRequestCodec.decode(data);
    } catch {
      this.log.error('Received invalid subscription request: unable to decode');
      return this.subError(reply, E.ERR_INVALID_SUB_REQ);
    }
    const fail = (error: string, detail?: string): void => {
      this.log.error(`[Client:${req.clientID}] Invalid subscription request for "${req.subject}": ${detail ?? error}`);
      this.subError(reply, error);
    };
    if (!req.clientID) return fail(E.ERR_MISSING_CLIENT_ID);
    if (req.ackWaitInSecs <= 0) return fail(E.ERR_INVALID_ACK_WAIT);
    if (req.maxInFlight <= 0) return fail(E.ERR_INVALID_MAX_IN_FLIGHT);
    if (req.startPosition < StartPosition.NewOnly || req.startPosition > StartPosition.First) return fail(E.ERR_INVALID_START);
    if (!isValidChannelName(req.subject)) return fail(E.ERR_INVALID_SUBJECT);
    // Partitioning: another server may own the channel; if none does, the client times out.
    if (this.partition !== undefined && !this.partition.owns(req.subject)) return;
    if (this.registry !== undefined && !this.clients.has(req.clientID)) {
      const id = req.clientID;
      const known = await this.registry.waitFor(ClientRegistry.idKey(id), () => this.clients.has(id));
      if (!known) return fail(E.ERR_INVALID_SUB_REQ, 'connection not registered on this server (partitioning)');
    }
    const client = this.clients.get(req.clientID);
    if (client === undefined) return fail(E.ERR_UNKNOWN_CLIENT);
    let ch: Channel;
    try {
      ch = this.getOrCreateChannel(req.subject);
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
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
      return fail(err instanceof Error ? err.message : String(err));
    }
    if (ch.deleting || this.channels.get(ch.name) !== ch) return fail(E.ERR_CHANNEL_BEING_DELETED);
    if (client.closing || this.clients.get(req.clientID) !== client) return fail(E.ERR_UNKNOWN_CLIENT);

    let sub: Subscription;
    let resumed = false;
    try {
      if (req.qGroup) {
        const r = this.subscribeQueue(ch, req, startLastSent);
        sub = r.sub;
        resumed = r.resumed;
      } else if (req.durableName) {
        const key = durableKey(req.clientID, req.subject, req.durableName);
        const existing = ch.durables.get(key);
        if (existing !== undefined && !existing.isOffline) {
          if (!this.opts.replaceDurable) return fail(E.ERR_DUP_DURABLE);
          this.removeSub(existing, false);
        }
        if (existing !== undefined) {
          sub = existing;
          this.resumeState(sub, req);
          resumed = true;
          ch.store.subs.updateSub(sub.state);
        } else {
          sub = this.newSub(ch, req, '', startLastSent);
          ch.durables.set(key, sub);
        }
        ch.plainSubs.add(sub);
      } else {
        sub = this.newSub(ch, req, '', startLastSent);
        ch.plainSubs.add(sub);
      }
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    // Not `ready` yet: nothing is sent to it before its SubscriptionResponse (spec §3.3).
    sub.ready = false;
    client.subs.add(sub);
    this.attachAckInbox(sub);
    try {
      await this.store.commit();
    } catch (err) {
      // Undo; a resumed durable goes back offline, it is not deleted.
      this.removeSub(sub, !resumed);
      return fail(err instanceof Error ? err.message : String(err));
    }
    if (client.closing || !this.clients.has(client.id)) {
      // The client went away while we were committing.
      this.removeSub(sub, false);
      return fail(E.ERR_UNKNOWN_CLIENT);
    }
    this.reply(reply, SubscriptionResponseCodec.encode({ ackInbox: sub.state.ackInbox }));
    sub.ready = true;
    this.log.debug(
      `[Client:${req.clientID}] ${resumed ? 'Resumed' : 'Started new'} subscription subject=${req.subject}` +
        `${req.qGroup ? ` queue=${req.qGroup}` : ''}${req.durableName ? ` durable=${req.durableName}` : ''} inbox=${req.inbox} subid=${sub.id}`,
    );
    if (ch.inactivityTimer) this.checkInactivity(ch);
    // The response goes out first; delivery starts on the next turn (spec §3.3).
    setImmediate(() => {
      if (resumed && sub.acksPending.size > 0) {
        this.delivery
          .redeliverAllPending(sub)
          .catch((err: unknown) => this.log.error(`Unable to redeliver pending messages of channel "${ch.name}" (subid=${sub.id}): ${err instanceof Error ? err.message : String(err)}`));
      }
      else if (sub.group) this.delivery.pumpGroup(ch, sub.group);
      else this.delivery.pumpSub(sub);
    });
  }

  private resumeState(sub: Subscription, req: SubscriptionRequest): void {
    const st = sub.state;
    st.clientID = req.clientID;
    st.inbox = req.inbox;
    st.ackInbox = this.nc.newInbox();
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
        const seq = await msgs.firstSeqAtOrAfter(nowNanos() - req.startTimeDelta);
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
      ackInbox: this.nc.newInbox(),
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

  private attachAckInbox(sub: Subscription): void {
    sub.ackSub?.unsubscribe();
    sub.channel.byAckInbox.set(sub.state.ackInbox, sub);
    sub.ackSub = this.nc.subscribe(sub.state.ackInbox, (_s, _r, data) => this.onAck(sub, data));
  }

  private onAck(sub: Subscription, data: Uint8Array): void {
    let seq: number;
    try {
      const ack = AckCodec.decode(data);
      seq = ack.sequence;
      if (ack.subject !== sub.channel.name) {
        // The reference finds the channel by Ack.subject, then the subscription by ack inbox
        // *within that channel*: an ack naming another channel finds no subscription.
        if (!this.channels.has(ack.subject)) {
          this.log.error(`Unable to process ack seq=${ack.sequence}, channel "${ack.subject}" not found`);
        }
        return;
      }
    } catch {
      if (!isCtrlMsg(data)) this.log.error(`[Client:${sub.state.clientID}] Received invalid ack (subid=${sub.id})`);
      return;
    }
    if (this.log.isTrace) this.log.trace(`[Client:${sub.state.clientID}] Processing ack for subid=${sub.id}, subject=${sub.channel.name}, seq=${seq}`);
    this.delivery.ack(sub, seq);
  }

  // ---------------------------------------------------------------- unsubscribe / close

  private async onUnsubscribe(reply: string | undefined, data: Uint8Array, isClose: boolean): Promise<void> {
    let req: UnsubscribeRequest;
    try {
      req = UnsubscribeRequestCodec.decode(data);
    } catch {
      this.log.error(`Received invalid ${isClose ? 'sub close' : 'unsubscribe'} request: unable to decode`);
      return this.subError(reply, E.ERR_INVALID_UNSUB_REQ);
    }
    // Partitioning: the owner of the channel answers; the others stay silent.
    if (this.partition !== undefined && !this.partition.owns(req.subject)) return;
    // Messages and acks received before this request are processed first (barrier).
    await this.publisher.barrier();
    const fail = (error: string): void => {
      this.log.error(`[Client:${req.clientID}] ${isClose ? 'Close subscription' : 'Unsubscribe'} request for "${req.subject}" failed: ${error}`);
      this.subError(reply, error);
    };
    const ch = this.channels.get(req.subject);
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
      await this.store.commit();
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    this.log.debug(`[Client:${req.clientID}] ${isClose ? 'Closed' : 'Unsubscribed'} subscription subject=${req.subject} subid=${sub.id}`);
    this.reply(reply, SubscriptionResponseCodec.encode({}));
  }

  /**
   * Removes a subscription from the runtime state, per the table of spec §3.6:
   * `unsubscribe` deletes durables for good; a close keeps them offline (shadow for queues).
   */
  removeSub(sub: Subscription, unsubscribe: boolean): void {
    const ch = sub.channel;
    const subs = ch.store.subs;
    this.delivery.stopAckTimer(sub);
    sub.ackSub?.unsubscribe();
    sub.ackSub = undefined;
    ch.byAckInbox.delete(sub.state.ackInbox);
    this.clients.get(sub.state.clientID)?.subs.delete(sub);
    const g = sub.group;
    if (g !== undefined) {
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
    } else if (sub.state.isDurable) {
      ch.plainSubs.delete(sub);
      if (unsubscribe) {
        ch.durables.delete(durableKey(sub.state.clientID, ch.name, sub.state.durableName));
        subs.deleteSub(sub.id);
      } else {
        sub.state.isClosed = true;
        sub.state.ackInbox = '';
        subs.updateSub(sub.state);
      }
    } else {
      ch.plainSubs.delete(sub);
      subs.deleteSub(sub.id);
    }
    this.checkInactivity(ch);
  }
}
