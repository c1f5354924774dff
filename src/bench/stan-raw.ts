/**
 * A minimal STAN client over a shared nats.js connection, for the scale and soak benchmarks:
 * many STAN clients per NATS connection, subscription requests without per-subscription NATS
 * subscriptions, heartbeat answering with gap statistics, async publishing with a window.
 */
import { NatsConnection, nuid, Subscription } from 'nats';
import {
  AckCodec,
  CloseRequestCodec,
  ConnectRequestCodec,
  ConnectResponseCodec,
  MsgProtoCodec,
  PubAckCodec,
  PubMsgCodec,
  SubscriptionRequest,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
} from '../protocol/codec';
import { CLUSTER_ID } from './server-proc';

const REQ_TIMEOUT_MS = 60_000;

export class RawStanClient {
  /** Heartbeats answered. */
  hbCount = 0;
  /** Largest gap between two heartbeats (ms), since resetHbStats(). */
  maxHbGapMs = 0;
  private lastHbAt = 0;
  private readonly hbSub: Subscription;

  private constructor(
    readonly nc: NatsConnection,
    readonly clientID: string,
    readonly hbInbox: string,
    private pubPrefix: string,
    private subRequests: string,
    private closeRequests: string,
  ) {
    this.hbSub = nc.subscribe(hbInbox, {
      callback: (_err, msg) => {
        const now = Date.now();
        if (this.lastHbAt > 0) this.maxHbGapMs = Math.max(this.maxHbGapMs, now - this.lastHbAt);
        this.lastHbAt = now;
        this.hbCount++;
        msg.respond(new Uint8Array(0));
      },
    });
  }

  static async connect(nc: NatsConnection, clientID: string): Promise<RawStanClient> {
    const hbInbox = `_INBOX.hb.${nuid.next()}`;
    const c = new RawStanClient(nc, clientID, hbInbox, '', '', '');
    const reply = await nc.request(`_STAN.discover.${CLUSTER_ID}`, ConnectRequestCodec.encode({ clientID, heartbeatInbox: hbInbox }), {
      timeout: REQ_TIMEOUT_MS,
    });
    const resp = ConnectResponseCodec.decode(reply.data);
    if (resp.error) throw new Error(`connect ${clientID}: ${resp.error}`);
    c.pubPrefix = resp.pubPrefix;
    c.subRequests = resp.subRequests;
    c.closeRequests = resp.closeRequests;
    return c;
  }

  resetHbStats(): void {
    this.maxHbGapMs = 0;
    this.lastHbAt = 0;
    this.hbCount = 0;
  }

  /** Gap since the last heartbeat, to catch a client that stopped getting them. */
  sinceLastHbMs(now = Date.now()): number {
    return this.lastHbAt === 0 ? 0 : now - this.lastHbAt;
  }

  /** Sends a SubscriptionRequest; resolves the ack inbox (throws the server's error). */
  async subscribe(req: Partial<SubscriptionRequest> & { subject: string; inbox: string }): Promise<string> {
    const full: Partial<SubscriptionRequest> = { clientID: this.clientID, maxInFlight: 1024, ackWaitInSecs: 30, ...req };
    const reply = await this.nc.request(this.subRequests, SubscriptionRequestCodec.encode(full), { timeout: REQ_TIMEOUT_MS });
    const resp = SubscriptionResponseCodec.decode(reply.data);
    if (resp.error) throw new Error(`subscribe ${req.subject}: ${resp.error}`);
    return resp.ackInbox;
  }

  /** One publish; resolves the PubAck's error ('' = stored). */
  async publishOnce(subject: string, data: Uint8Array, timeoutMs = 10_000): Promise<string> {
    const guid = nuid.next();
    const msg = PubMsgCodec.encode({ clientID: this.clientID, guid, subject, data });
    const reply = await this.nc.request(`${this.pubPrefix}.${subject}`, msg, { timeout: timeoutMs });
    return PubAckCodec.decode(reply.data).error;
  }

  /**
   * Publishes continuously with at most `window` PubAcks outstanding until stop() is called;
   * counts acked publishes and error PubAcks.
   */
  startPublisher(subject: string, size: number, window: number): { acked: () => number; errors: () => number; stop: () => Promise<void> } {
    const ackInbox = `_INBOX.ack.${nuid.next()}`;
    let acked = 0;
    let errors = 0;
    let inFlight = 0;
    let stopped = false;
    let drained: (() => void) | null = null;
    const data = new Uint8Array(size).fill(0x61);
    const pump = (): void => {
      while (!stopped && inFlight < window) {
        inFlight++;
        const msg = PubMsgCodec.encode({ clientID: this.clientID, guid: nuid.next(), subject, data });
        this.nc.publish(`${this.pubPrefix}.${subject}`, msg, { reply: ackInbox });
      }
    };
    const sub = this.nc.subscribe(ackInbox, {
      callback: (_err, m) => {
        inFlight--;
        if (PubAckCodec.decode(m.data).error) errors++;
        else acked++;
        if (stopped) {
          if (inFlight <= 0) drained?.();
        } else if (inFlight <= window / 2) pump();
      },
    });
    pump();
    return {
      acked: () => acked,
      errors: () => errors,
      stop: async () => {
        stopped = true;
        if (inFlight > 0) await Promise.race([new Promise<void>((r) => (drained = r)), new Promise((r) => setTimeout(r, 10_000))]);
        sub.unsubscribe();
      },
    };
  }

  /** Subscribes (DeliverAllAvailable unless given) and acks every message; counts deliveries. */
  async startAcker(subject: string, opts: Partial<SubscriptionRequest> = {}, onMsg?: () => void): Promise<{ received: () => number; stop: () => void }> {
    const inbox = `_INBOX.sub.${nuid.next()}`;
    let received = 0;
    let ackInbox = '';
    // Messages can be handled before the SubscriptionResponse's await resumes (same socket
    // read): their acks wait here for the ack inbox instead of being lost.
    const early: number[] = [];
    const sub = this.nc.subscribe(inbox, {
      callback: (_err, m) => {
        const mp = MsgProtoCodec.decode(m.data);
        received++;
        if (ackInbox) this.nc.publish(ackInbox, AckCodec.encode({ subject, sequence: mp.sequence }));
        else early.push(mp.sequence);
        onMsg?.();
      },
    });
    ackInbox = await this.subscribe({ subject, inbox, startPosition: 4, ...opts });
    for (const sequence of early) this.nc.publish(ackInbox, AckCodec.encode({ subject, sequence }));
    return { received: () => received, stop: () => sub.unsubscribe() };
  }

  async close(): Promise<void> {
    this.hbSub.unsubscribe();
    await this.nc.request(this.closeRequests, CloseRequestCodec.encode({ clientID: this.clientID }), { timeout: 10_000 }).catch(() => undefined);
  }
}
