/**
 * The load generator's lean STAN clients: connect/close, a publisher that keeps up to
 * `-mpa` PubMsgs in flight (or one, with -sync), and an auto-acking subscriber.
 */
import { connect, NatsConnection, Msg, nuid, NatsError } from 'nats';
import {
  ConnectRequestCodec,
  ConnectResponseCodec,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
  CloseRequestCodec,
  CloseResponseCodec,
  UnsubscribeRequestCodec,
  StartPosition,
} from '../protocol/codec';
import { varintSize, writeVarint } from '../protocol/fast';
import type { Sample } from './loadgen-report';
import {
  concat,
  GUID_DIGITS,
  GUID_LEN,
  GUID_PREFIX_LEN,
  guidCounter,
  ldField,
  msgProtoSequence,
  varintAt,
  td,
  te,
  writeGuidCounter,
} from './loadgen-wire';

const DEFAULT_MAX_INFLIGHT = 1024;
const DEFAULT_ACK_WAIT_SECS = 30;
const REQUEST_TIMEOUT_MS = 5000;

export interface StanConn {
  nc: NatsConnection;
  clientID: string;
  connID: Uint8Array;
  pubPrefix: string;
  subRequests: string;
  closeRequests: string;
  subCloseRequests: string;
}

export async function stanConnect(url: string, clusterID: string, clientID: string): Promise<StanConn> {
  const nc = await connect({ servers: url, name: 'NATS Streaming Benchmark (ts)', maxReconnectAttempts: 0 });
  const hbInbox = `_INBOX.${nuid.next()}`;
  nc.subscribe(hbInbox, { callback: (_err: NatsError | null, m: Msg) => void m.respond() });
  const connID = te.encode(nuid.next());
  const req = ConnectRequestCodec.encode({
    clientID,
    heartbeatInbox: hbInbox,
    protocol: 1,
    connID,
    pingInterval: 5,
    pingMaxOut: 88,
  });
  const reply = await nc.request(`_STAN.discover.${clusterID}`, req, { timeout: REQUEST_TIMEOUT_MS });
  const resp = ConnectResponseCodec.decode(reply.data);
  if (resp.error) {
    await nc.close();
    throw new Error(`stan connect: ${resp.error}`);
  }
  return {
    nc,
    clientID,
    connID,
    pubPrefix: resp.pubPrefix,
    subRequests: resp.subRequests,
    closeRequests: resp.closeRequests,
    subCloseRequests: resp.subCloseRequests,
  };
}

export async function stanClose(sc: StanConn): Promise<void> {
  try {
    const reply = await sc.nc.request(sc.closeRequests, CloseRequestCodec.encode({ clientID: sc.clientID }), {
      timeout: REQUEST_TIMEOUT_MS,
    });
    const resp = CloseResponseCodec.decode(reply.data);
    if (resp.error) throw new Error(`stan close: ${resp.error}`);
  } finally {
    await sc.nc.close();
  }
}

export class Publisher {
  private readonly template: Uint8Array;
  private readonly guidOffset: number;
  private readonly pubSubject: string;
  private readonly ackSubject: string;
  private readonly acked: Uint8Array;
  private sent = 0;
  private ackCount = 0;
  private slab: Uint8Array = new Uint8Array(0);
  private slabOff = 0;
  private startNs = 0n;
  private endNs = 0n;
  private done: (() => void) | null = null;
  private fail: ((e: Error) => void) | null = null;
  private syncWaiter: (() => void) | null = null;
  readonly errors: string[] = [];

  constructor(
    private readonly sc: StanConn,
    subject: string,
    private readonly count: number,
    size: number,
    private readonly maxInFlight: number,
  ) {
    const prefix = nuid.next().slice(0, GUID_PREFIX_LEN);
    const head = concat([ldField(1, te.encode(sc.clientID)), Uint8Array.of((2 << 3) | 2, GUID_LEN)]);
    this.guidOffset = head.length;
    const guid = te.encode(prefix + '0'.repeat(GUID_DIGITS));
    const parts = [head, guid, ldField(3, te.encode(subject))];
    if (size > 0) parts.push(ldField(5, new Uint8Array(size)));
    parts.push(ldField(6, sc.connID));
    this.template = concat(parts);
    this.pubSubject = `${sc.pubPrefix}.${subject}`;
    this.ackSubject = `_STAN.acks.${nuid.next()}`;
    this.acked = new Uint8Array(count);
    sc.nc.subscribe(this.ackSubject, { callback: (_err, m) => this.onAck(m.data) });
  }

  private publishOne(): void {
    const len = this.template.length;
    if (this.slabOff + len > this.slab.length) {
      // A fresh slab: nats.js keeps references to queued payloads until it flushes them.
      this.slab = new Uint8Array(len * 1024);
      this.slabOff = 0;
    }
    const off = this.slabOff;
    this.slab.set(this.template, off);
    writeGuidCounter(this.slab, off + this.guidOffset, this.sent);
    this.slabOff += len;
    this.sent++;
    this.sc.nc.publish(this.pubSubject, this.slab.subarray(off, off + len), { reply: this.ackSubject });
  }

  private pump(): void {
    const limit = Math.min(this.count, this.ackCount + this.maxInFlight);
    while (this.sent < limit) this.publishOne();
  }

  private onAck(data: Uint8Array): void {
    // PubAck: 1: guid (string), 2: error (string).
    let idx = -1;
    let pos = 0;
    while (pos < data.length) {
      const tag = data[pos++];
      const [len, p] = varintAt(data, pos);
      pos = p;
      if (tag === 0x0a && len === GUID_LEN) idx = guidCounter(data, pos);
      else if (tag === 0x12) this.errors.push(td.decode(data.subarray(pos, pos + len)));
      else if (tag !== 0x0a) break;
      pos += len;
    }
    if (idx < 0 || idx >= this.count || this.acked[idx] !== 0) {
      this.errors.push(idx < 0 ? 'PubAck with unknown guid' : `duplicate or unexpected PubAck #${idx}`);
    } else {
      this.acked[idx] = 1;
      this.ackCount++;
    }
    if (this.errors.length > 0 && this.fail) {
      this.fail(new Error(this.errors[0]));
      return;
    }
    if (this.ackCount >= this.count) {
      this.endNs = process.hrtime.bigint();
      if (this.done) this.done();
      return;
    }
    if (this.syncWaiter) {
      const w = this.syncWaiter;
      this.syncWaiter = null;
      w();
    } else if (!this.syncMode) this.pump();
  }

  private syncMode = false;

  async run(sync: boolean): Promise<Sample> {
    this.syncMode = sync;
    const finished = new Promise<void>((resolve, reject) => {
      this.done = resolve;
      this.fail = reject;
    });
    // Make sure the ack subscription is registered before the first publish is answered.
    await this.sc.nc.flush();
    this.startNs = process.hrtime.bigint();
    if (this.count === 0) this.endNs = this.startNs;
    else if (sync) {
      while (this.sent < this.count) {
        const acked = new Promise<void>((resolve) => (this.syncWaiter = resolve));
        this.publishOne();
        if (this.sent < this.count) await acked;
      }
      await finished;
    } else {
      this.pump();
      await finished;
    }
    return { msgs: this.count, bytes: 0, startNs: this.startNs, endNs: this.endNs };
  }
}

export class Subscriber {
  private received = 0;
  private startNs = 0n;
  private endNs = 0n;
  private ackPrefix: Uint8Array;
  private ackInbox = '';
  private inbox = `_INBOX.${nuid.next()}`;
  private done: (() => void) | null = null;
  readonly errors: string[] = [];

  constructor(
    private readonly sc: StanConn,
    private readonly subject: string,
    private readonly expected: number,
  ) {
    // Ack: 1: subject (string), 2: sequence (uint64) — the prefix up to the sequence varint.
    this.ackPrefix = concat([ldField(1, te.encode(subject)), Uint8Array.of(2 << 3)]);
  }

  async subscribe(): Promise<void> {
    this.sc.nc.subscribe(this.inbox, { callback: (_err, m) => this.onMsg(m.data) });
    const req = SubscriptionRequestCodec.encode({
      clientID: this.sc.clientID,
      subject: this.subject,
      inbox: this.inbox,
      maxInFlight: DEFAULT_MAX_INFLIGHT,
      ackWaitInSecs: DEFAULT_ACK_WAIT_SECS,
      startPosition: StartPosition.First,
    });
    const reply = await this.sc.nc.request(this.sc.subRequests, req, { timeout: REQUEST_TIMEOUT_MS });
    const resp = SubscriptionResponseCodec.decode(reply.data);
    if (resp.error) throw new Error(`stan subscribe: ${resp.error}`);
    this.ackInbox = resp.ackInbox;
  }

  private onMsg(data: Uint8Array): void {
    let seq: number;
    try {
      seq = msgProtoSequence(data);
    } catch (err) {
      this.errors.push(`bad MsgProto: ${String(err)}`);
      return;
    }
    const ack = Buffer.allocUnsafe(this.ackPrefix.length + varintSize(seq));
    ack.set(this.ackPrefix, 0);
    writeVarint(ack, this.ackPrefix.length, seq);
    this.sc.nc.publish(this.ackInbox, ack);
    if (++this.received === 1) this.startNs = process.hrtime.bigint();
    if (this.received === this.expected) {
      this.endNs = process.hrtime.bigint();
      if (this.done) this.done();
    }
  }

  async wait(): Promise<Sample> {
    if (this.received < this.expected) await new Promise<void>((resolve) => (this.done = resolve));
    return { msgs: this.received, bytes: 0, startNs: this.startNs, endNs: this.endNs };
  }

  async close(): Promise<void> {
    const req = UnsubscribeRequestCodec.encode({ clientID: this.sc.clientID, subject: this.subject, inbox: this.ackInbox });
    await this.sc.nc.request(this.sc.subCloseRequests, req, { timeout: REQUEST_TIMEOUT_MS }).catch(() => undefined);
  }
}
