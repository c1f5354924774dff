/**
 * Raw STAN protocol access with the `nats` (nats.js v2) client and our own codecs, for the
 * requests the real STAN client never sends (malformed, invalid, or from a "dead" client).
 */
import { connect as natsConnect, createInbox, type NatsConnection, type Subscription as NatsSub } from 'nats';
import {
  type Codec,
  type ConnectRequest,
  ConnectRequestCodec,
  type ConnectResponse,
  ConnectResponseCodec,
  type MsgProto,
  MsgProtoCodec,
  type PubAck,
  PubAckCodec,
  type PubMsg,
  PubMsgCodec,
  type SubscriptionRequest,
  SubscriptionRequestCodec,
  type SubscriptionResponse,
  SubscriptionResponseCodec,
  type UnsubscribeRequest,
  UnsubscribeRequestCodec,
} from '../../src/protocol/codec';

export type { NatsConnection } from 'nats';
export { createInbox } from 'nats';

export function rawNats(url: string): Promise<NatsConnection> {
  return natsConnect({ servers: url, name: 'raw-test' });
}

export function discoverSubject(clusterID: string): string {
  return `_STAN.discover.${clusterID}`;
}

/** Sends `data` as a request and returns the raw reply bytes. */
export async function requestRaw(nc: NatsConnection, subject: string, data: Uint8Array, timeoutMs = 2000): Promise<Uint8Array> {
  const m = await nc.request(subject, data, { timeout: timeoutMs });
  return m.data;
}

/** Sends `data` as a request and decodes the reply with `codec`. */
export async function requestDecoded<T>(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  codec: Codec<T>,
  timeoutMs = 2000,
): Promise<T> {
  return codec.decode(await requestRaw(nc, subject, data, timeoutMs));
}

/**
 * Publishes `data` with a fresh reply inbox and resolves with every reply received within
 * `windowMs` (used to prove that *no* reply is sent, or exactly one).
 */
export async function repliesWithin(nc: NatsConnection, subject: string, data: Uint8Array, windowMs: number): Promise<Uint8Array[]> {
  const inbox = createInbox();
  const got: Uint8Array[] = [];
  const sub = nc.subscribe(inbox);
  void (async () => {
    for await (const m of sub) got.push(m.data);
  })();
  nc.publish(subject, data, { reply: inbox });
  await nc.flush();
  await new Promise((r) => setTimeout(r, windowMs));
  sub.unsubscribe();
  return got;
}

export interface RawStanConn {
  clientID: string;
  hbInbox: string;
  connID: Uint8Array;
  resp: ConnectResponse;
  /** Present when the raw client answers the server's heartbeats. */
  hbSub: NatsSub | undefined;
}

/**
 * Registers a STAN client over a raw NATS connection. `hb: 'answer'` (default) makes it reply
 * to heartbeats (a live client); 'ignore' or 'none' make it "dead" from the server's view.
 */
export async function rawStanConnect(
  nc: NatsConnection,
  clusterID: string,
  clientID: string,
  opts: { hb?: 'answer' | 'ignore' | 'none'; req?: Partial<ConnectRequest> } = {},
): Promise<RawStanConn> {
  const hbInbox = createInbox();
  let hbSub: NatsSub | undefined;
  // 'ignore': subscribed but silent, so probes time out instead of getting "no responders".
  const hb = opts.hb ?? 'answer';
  if (hb !== 'none') {
    hbSub = nc.subscribe(hbInbox, { callback: (_e, m) => (hb === 'answer' ? m.respond(new Uint8Array(0)) : undefined) });
    await nc.flush();
  }
  const connID = new TextEncoder().encode(`conn-${clientID}-${Math.random().toString(36).slice(2)}`);
  const resp = await requestDecoded(
    nc,
    discoverSubject(clusterID),
    ConnectRequestCodec.encode({ clientID, heartbeatInbox: hbInbox, protocol: 1, connID, pingInterval: 1, pingMaxOut: 3, ...opts.req }),
    ConnectResponseCodec,
  );
  if (resp.error) throw new Error(resp.error);
  return { clientID, hbInbox, connID, resp, hbSub };
}

/**
 * Bytes that are not a valid protobuf encoding of any STAN message: field 15 with the
 * invalid wire type 7. (A truncated length-delimited field is NOT reliably refused: the
 * protobufjs reader for Node Buffers clamps string lengths instead of failing.)
 */
export const GARBAGE = new Uint8Array([0x7f, 0x01]);
/** A truncated string field: the Go decoder refuses it (io.ErrUnexpectedEOF). */
export const TRUNCATED = new Uint8Array([0x0a, 0x10, 0x61]);

/** Publishes a (possibly invalid) PubMsg on `<pubPrefix>.<natsSubjectSuffix>` and decodes the PubAck. */
export async function rawPublish(
  nc: NatsConnection,
  clusterID: string,
  pm: Partial<PubMsg>,
  suffix = pm.subject || 'x',
): Promise<PubAck> {
  return requestDecoded(nc, `_STAN.pub.${clusterID}.${suffix}`, PubMsgCodec.encode(pm), PubAckCodec);
}

/** A raw subscription request; returns the response. */
export function rawSubscribe(nc: NatsConnection, clusterID: string, req: Partial<SubscriptionRequest>): Promise<SubscriptionResponse> {
  return requestDecoded(
    nc,
    `_STAN.sub.${clusterID}`,
    SubscriptionRequestCodec.encode({ maxInFlight: 100, ackWaitInSecs: 30, inbox: createInbox(), ...req }),
    SubscriptionResponseCodec,
  );
}

/** Unsubscribe (`close` false) or sub-close request; returns the response. */
export function rawUnsub(nc: NatsConnection, clusterID: string, req: Partial<UnsubscribeRequest>, close = false): Promise<SubscriptionResponse> {
  return requestDecoded(
    nc,
    `_STAN.${close ? 'subclose' : 'unsub'}.${clusterID}`,
    UnsubscribeRequestCodec.encode(req),
    SubscriptionResponseCodec,
  );
}

/** Collects the MsgProto deliveries on a raw inbox. */
export class RawInbox {
  readonly msgs: MsgProto[] = [];
  readonly subject = createInbox();
  private readonly sub: NatsSub;
  private waiters: Array<() => void> = [];

  constructor(nc: NatsConnection) {
    this.sub = nc.subscribe(this.subject, {
      callback: (_e, m) => {
        this.msgs.push(MsgProtoCodec.decode(m.data));
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      },
    });
  }

  async waitFor(n: number, timeoutMs = 3000): Promise<MsgProto[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.msgs.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout: got ${this.msgs.length} of ${n} messages`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.msgs;
  }

  unsubscribe(): void {
    this.sub.unsubscribe();
  }
}
