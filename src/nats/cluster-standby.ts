/**
 * Keeps our interest in a few request subjects (connect requests) alive on a second member
 * of the NATS cluster, through a second connection ("standby") to another server than the
 * main one.
 *
 * Why: when the NATS server our main connection uses dies, clients move to other members
 * at the same moment as we do. A request published on a member where nobody subscribes is
 * dropped by NATS, and a STAN client sends its connect request only once: a client that
 * gets to the other member a few milliseconds before our main connection has re-sent its
 * subscriptions there would time out ("stan: connect request timeout"). With the standby
 * already subscribed on that member the request is served at once.
 *
 * Both connections subscribe as one queue group, so each request is handled once. Which
 * member gets it is random: nats-server picks among its local members and those behind its
 * routes alike for a client's message (it prefers local ones only for a message that came
 * over a route), so while both members are up about half of what reaches the standby's
 * member goes to the main connection (a member that lost the main connection hands all to
 * the standby). Only subjects whose requests do not depend on their order relative to other
 * traffic belong here: a connect request does not; publishes do.
 *
 * The standby has no reconnect of its own: when its server goes away, or the main
 * connection moves onto its server, it is placed again on another member taken from the
 * main connection's INFO `connect_urls` (and again when that list changes).
 */
import type { Msg, NatsConnection, NatsError, Subscription } from 'nats';
import type { Logger } from '../logging/logger';

export type StandbyCallback = (err: NatsError | null, msg: Msg) => void;

/** What the standby needs of the main connection. */
export interface MainConnection {
  /** The INFO of the server the main connection is (or was last) connected to. */
  readonly info?: { server_id: string; connect_urls?: string[] };
  getServer(): string;
}

export interface ClusterStandbyDeps {
  /** Opens a connection to exactly this `host:port` (without reconnects). */
  connect(server: string): Promise<NatsConnection>;
  logger: Logger;
  /** Connection name, for log lines. */
  name: string;
  /** Order in which candidate members are tried (default: random, to spread servers). */
  shuffle?: <T>(items: T[]) => T[];
}

interface Entry {
  subject: string;
  callback: StandbyCallback;
  sub?: Subscription;
}

function shuffled<T>(items: T[]): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Bound on remembered reply subjects (requests the core never answers must not pile up). */
const MAX_UNANSWERED = 10_000;

export class ClusterStandby {
  private readonly entries = new Set<Entry>();
  /** Reply subjects of requests received through the standby and not answered yet, oldest first. */
  private readonly unanswered = new Set<string>();
  private conn: NatsConnection | undefined;
  private placing = false;
  /** A check asked for while placing: run it again afterwards (the situation changed). */
  private again = false;
  private closed = false;

  constructor(
    private readonly main: MainConnection,
    /** Queue group shared with the main connection's subscriptions of the same subjects. */
    readonly queue: string,
    private readonly deps: ClusterStandbyDeps,
  ) {}

  /** Subscribes `subject` on the standby connection (now, or once there is one). */
  add(subject: string, callback: StandbyCallback): { unsubscribe(): void } {
    const e: Entry = { subject, callback: this.rememberingReplies(callback) };
    this.entries.add(e);
    // e.callback (not callback): a request received here must be answered through the standby too.
    if (this.conn !== undefined && !this.conn.isClosed()) e.sub = this.conn.subscribe(subject, { queue: this.queue, callback: e.callback });
    this.check();
    return {
      unsubscribe: () => {
        this.entries.delete(e);
        e.sub?.unsubscribe();
        e.sub = undefined;
      },
    };
  }

  /**
   * Publishes through the standby connection, for use while the main one is disconnected
   * (nats.js drops what is published then: its outgoing buffer is reset on every
   * reconnect attempt). False when there is no usable standby connection.
   */
  publish(subject: string, data: Uint8Array, reply?: string): boolean {
    const c = this.conn;
    if (c === undefined || c.isClosed()) return false;
    if (reply === undefined) c.publish(subject, data);
    else c.publish(subject, data, { reply });
    return true;
  }

  /**
   * Publishes the answer to a request the standby received through the standby connection.
   * Why: the requester's member knows the requester's inbox for certain, while the main
   * connection's member learns it from the route asynchronously; an answer published there
   * a moment too early is dropped by NATS (seen in CI on a loaded machine: the request timed
   * out). False when `subject` is not such a reply or there is no usable standby.
   */
  answer(subject: string, data: Uint8Array): boolean {
    if (!this.unanswered.delete(subject)) return false;
    return this.publish(subject, data);
  }

  private rememberingReplies(callback: StandbyCallback): StandbyCallback {
    return (err, msg) => {
      if (err === null && msg.reply !== undefined && msg.reply !== '') {
        if (this.unanswered.size >= MAX_UNANSWERED) {
          const oldest = this.unanswered.values().next();
          if (oldest.done !== true) this.unanswered.delete(oldest.value);
        }
        this.unanswered.add(msg.reply);
      }
      callback(err, msg);
    };
  }

  /** The server of the standby connection, when it has one. */
  get server(): string | undefined {
    return this.conn !== undefined && !this.conn.isClosed() ? this.conn.getServer() : undefined;
  }

  /**
   * Re-checks the placement: call on the main connection's (re)connects and cluster
   * updates. Places the standby when it has none, or shares the main connection's server.
   */
  check(): void {
    if (this.closed || this.entries.size === 0) return;
    if (this.placing) {
      this.again = true;
      return;
    }
    const mainId = this.main.info?.server_id;
    const c = this.conn;
    if (c !== undefined && !c.isClosed() && c.info?.server_id !== mainId) return;
    const candidates = this.candidates();
    if (candidates.length === 0) return;
    this.placing = true;
    void this.place(candidates).finally(() => {
      this.placing = false;
      if (this.again) {
        this.again = false;
        this.check();
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = undefined;
    if (c !== undefined && !c.isClosed()) await c.close().catch(() => undefined);
  }

  /** Other members than the main connection's server, as the main server announces them. */
  private candidates(): string[] {
    const urls = this.main.info?.connect_urls ?? [];
    // A lone server (no cluster) announces nothing or only itself: no standby then.
    if (urls.length < 2) return [];
    return (this.deps.shuffle ?? shuffled)(urls);
  }

  private async place(candidates: string[]): Promise<void> {
    const log = this.deps.logger;
    for (const url of candidates) {
      if (this.closed) return;
      let c: NatsConnection;
      try {
        c = await this.deps.connect(url);
      } catch (err) {
        if (log.isDebug) log.debug(`nats: standby connection "${this.deps.name}" cannot reach NATS Server ${url}: ${(err as Error).message}`);
        continue;
      }
      // The announced URLs include the main connection's own server, under an address we
      // cannot tell apart from the others: compare the server IDs instead.
      if (this.closed || c.info?.server_id === undefined || c.info.server_id === this.main.info?.server_id) {
        await c.close().catch(() => undefined);
        continue;
      }
      this.adopt(c);
      if (log.isDebug) log.debug(`nats: standby connection "${this.deps.name}" keeps connect requests flowing on NATS Server ${c.getServer()} (main connection on ${this.main.getServer()})`);
      return;
    }
  }

  /** Moves every subscription onto `c` (subscribed there first: no gap), then drops the old one. */
  private adopt(c: NatsConnection): void {
    const old = this.conn;
    this.conn = c;
    for (const e of this.entries) {
      const prev = e.sub;
      e.sub = c.subscribe(e.subject, { queue: this.queue, callback: e.callback });
      prev?.unsubscribe();
    }
    if (old !== undefined && !old.isClosed()) void old.close().catch(() => undefined);
    void c.closed().then(() => {
      if (this.conn !== c) return;
      this.conn = undefined;
      for (const e of this.entries) e.sub = undefined;
      if (this.deps.logger.isDebug) this.deps.logger.debug(`nats: standby connection "${this.deps.name}" lost its NATS Server; placing it again`);
      this.check();
    });
  }
}
