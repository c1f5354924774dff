/**
 * A STAN core for unit tests: StanCore over the in-memory transport, the MEMORY store and a
 * fake clock, plus a minimal protocol-level client (connect, publish, subscribe, ack,
 * unsubscribe, close) speaking the STAN protobufs directly.
 */
import { defaultStreamingOptions, type StreamingOptions } from '../../src/config/options';
import { silentLogger } from '../../src/logging/logger';
import {
  AckCodec,
  CloseRequestCodec,
  CloseResponseCodec,
  ConnectRequestCodec,
  ConnectResponseCodec,
  MsgProtoCodec,
  PubAckCodec,
  PubMsgCodec,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
  UnsubscribeRequestCodec,
  type ConnectResponse,
  type MsgProto,
  type PubAck,
  type SubscriptionRequest,
} from '../../src/protocol/codec';
import { MemoryStore } from '../../src/store/memory';
import { StanCore } from '../../src/stan/core';
import { FakeClock, settle } from './fake-clock';
import { MemoryTransport } from './memory-transport';

export interface CoreHarness {
  core: StanCore;
  store: MemoryStore;
  clock: FakeClock;
  nc: MemoryTransport;
  opts: StreamingOptions;
  close(): Promise<void>;
}

/** Builds the core's store (default: a fresh MEMORY store on the fake clock). */
export type StoreFactory = (opts: StreamingOptions, clock: FakeClock) => MemoryStore;

const memoryStore: StoreFactory = (opts, clock) => new MemoryStore(opts.storeLimits, { now: () => clock.now() });

/** A serving core (fresh MEMORY store unless `makeStore` says otherwise), options adjusted by `tweak`. */
export function startCore(tweak: (o: StreamingOptions) => void = () => undefined, makeStore: StoreFactory = memoryStore): CoreHarness {
  const h = listeningCore(tweak, makeStore);
  h.core.startServing();
  return h;
}

/**
 * A core that listens but does not serve yet (as during recovery): requests are held until
 * `core.startServing()`.
 */
export function listeningCore(tweak: (o: StreamingOptions) => void = () => undefined, makeStore: StoreFactory = memoryStore): CoreHarness {
  const opts = defaultStreamingOptions();
  tweak(opts);
  const clock = new FakeClock();
  const nc = new MemoryTransport(clock);
  const store = makeStore(opts, clock);
  const core = new StanCore(opts, store, nc, silentLogger, clock);
  core.recover(null);
  core.listenEarly();
  return {
    core,
    store,
    clock,
    nc,
    opts,
    close: async () => {
      await core.shutdown();
      await nc.close();
    },
  };
}

/** One reply to `data` sent on `subject` (the server answers after its commit). */
async function ask(nc: MemoryTransport, subject: string, data: Uint8Array): Promise<Uint8Array> {
  const inbox = nc.newInbox();
  return new Promise((resolve) => {
    const sub = nc.subscribe(inbox, (_s, _r, reply) => {
      sub.unsubscribe();
      resolve(reply);
    });
    nc.publish(subject, data, inbox);
  });
}

export interface TestSub {
  inbox: string;
  ackInbox: string;
  error: string;
  /** Everything delivered to the subscription's inbox, in arrival order. */
  msgs: MsgProto[];
}

export class TestClient {
  conn: ConnectResponse | undefined;
  readonly hbInbox: string;
  /** Whether the client answers the server's heartbeats (and liveness probes). */
  alive = true;
  private guid = 0;

  constructor(
    private readonly h: CoreHarness,
    readonly id: string,
  ) {
    this.hbInbox = h.nc.newInbox();
    h.nc.subscribe(this.hbInbox, (_s, reply) => {
      if (this.alive && reply) h.nc.publish(reply, new Uint8Array(0));
    });
  }

  async connect(): Promise<ConnectResponse> {
    const req = ConnectRequestCodec.encode({ clientID: this.id, heartbeatInbox: this.hbInbox, protocol: 1, connID: Buffer.from(`conn-${this.id}`) });
    const res = ConnectResponseCodec.decode(await ask(this.h.nc, this.h.core.info.Discovery, req));
    if (!res.error) this.conn = res;
    return res;
  }

  private get c(): ConnectResponse {
    if (this.conn === undefined) throw new Error(`client ${this.id} is not connected`);
    return this.conn;
  }

  async publish(subject: string, data: string): Promise<PubAck> {
    const msg = PubMsgCodec.encode({ clientID: this.id, guid: `${this.id}-${++this.guid}`, subject, data: Buffer.from(data), connID: Buffer.from(`conn-${this.id}`) });
    return PubAckCodec.decode(await ask(this.h.nc, `${this.c.pubPrefix}.${subject}`, msg));
  }

  async subscribe(subject: string, req: Partial<SubscriptionRequest> = {}): Promise<TestSub> {
    const inbox = this.h.nc.newInbox();
    const sub: TestSub = { inbox, ackInbox: '', error: '', msgs: [] };
    this.h.nc.subscribe(inbox, (_s, _r, data) => sub.msgs.push(MsgProtoCodec.decode(data)));
    const body = SubscriptionRequestCodec.encode({ clientID: this.id, subject, inbox, maxInFlight: 1024, ackWaitInSecs: 30, ...req });
    const res = SubscriptionResponseCodec.decode(await ask(this.h.nc, this.c.subRequests, body));
    sub.ackInbox = res.ackInbox;
    sub.error = res.error;
    await settle();
    return sub;
  }

  ack(sub: TestSub, subject: string, seq: number): void {
    this.h.nc.publish(sub.ackInbox, AckCodec.encode({ subject, sequence: seq }));
  }

  /** Unsubscribe (`close` = false) or close (`close` = true) a subscription. */
  async unsubscribe(sub: TestSub, subject: string, close = false): Promise<string> {
    const body = UnsubscribeRequestCodec.encode({ clientID: this.id, subject, inbox: sub.ackInbox });
    const res = SubscriptionResponseCodec.decode(await ask(this.h.nc, close ? this.c.subCloseRequests : this.c.unsubRequests, body));
    return res.error;
  }

  async close(): Promise<string> {
    const res = CloseResponseCodec.decode(await ask(this.h.nc, this.c.closeRequests, CloseRequestCodec.encode({ clientID: this.id })));
    return res.error;
  }
}

/** Sequences received by a subscription (redeliveries included), as "seq" or "seq*count". */
export function seqs(sub: TestSub): string[] {
  return sub.msgs.map((m) => (m.redelivered ? `${m.sequence}*${m.redeliveryCount}` : `${m.sequence}`));
}

/** Runs `body` against a serving core with a connected client "c1", then shuts the core down. */
export async function withCore(body: (h: CoreHarness, c: TestClient) => Promise<void>, tweak?: (o: StreamingOptions) => void): Promise<void> {
  const h = startCore(tweak);
  try {
    const c = new TestClient(h, 'c1');
    const res = await c.connect();
    if (res.error) throw new Error(`connect refused: ${res.error}`);
    await body(h, c);
  } finally {
    await h.close();
  }
}
