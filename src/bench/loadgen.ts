/**
 * A lean STAN load generator over nats.js v2, command-line compatible with the Go `stan-bench`
 * (nats-io/stan.go examples/stan-bench) so `npm run bench` works without the Go tool:
 *
 *   node dist/src/bench/loadgen.js -s nats://127.0.0.1:4222 [-c CLUSTER_ID] [-id CLIENT_ID]
 *        -np PUBS -ns SUBS -n MSGS -ms SIZE [-sync] [-mpa MAX_PUBACKS_INFLIGHT] [--json] SUBJECT
 *
 * It prints the same report lines as stan-bench (`Pub stats: 272419 msgs/sec ~ 33.25 MB/sec ...`),
 * plus one `JSON: {...}` line with `--json`.
 *
 * Semantics follow stan-bench: the N messages are split between the publishers, every subscriber
 * (DeliverAllAvailable, MaxInflight 1024, AckWait 30s, auto-ack) expects all N messages, a
 * publisher's time runs from its first publish to its last PubAck, a subscriber's from its first
 * to its last message, and a group's rate is its messages over (last end - first start).
 * `-mpa` defaults to 512 like stan-bench (the Go client's own default, used by applications, is
 * 16384 — DefaultMaxPubAcksInflight in stan.go).
 *
 * Hot path (publish, PubAck, MsgProto, Ack) is hand-encoded: every PubMsg of a publisher is the
 * same bytes except its 22-byte guid, so a template is copied into a preallocated slab and only
 * the guid's counter digits are rewritten; PubAcks are matched to guids by the counter embedded
 * in the guid (no per-message Map entry, closure or promise in async mode). nats.js queues the
 * slab slices and coalesces them into one socket write per microtask / 32 KB.
 *
 * Size (~660 lines): a stand-alone command-line tool (not server code) mirroring stan-bench's
 * flags and report; its option parsing, publishers/subscribers and report stay together so it
 * runs as one file.
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
import { errorText } from '../errors';
import { varintSize, writeVarint } from '../protocol/fast';

export const STAN_BENCH_DEFAULT_MPA = 512;
export const GO_CLIENT_DEFAULT_MPA = 16384;
const DEFAULT_MAX_INFLIGHT = 1024;
const DEFAULT_ACK_WAIT_SECS = 30;
const REQUEST_TIMEOUT_MS = 5000;

export interface LoadOptions {
  url: string;
  clusterID: string;
  clientID: string;
  subject: string;
  pubs: number;
  subs: number;
  msgs: number;
  size: number;
  sync: boolean;
  maxPubAcksInFlight: number;
  /** Give up (and report an error) after this long. */
  timeoutMs: number;
}

export interface Sample {
  msgs: number;
  bytes: number;
  startNs: bigint;
  endNs: bigint;
}

export interface LoadResult {
  pubs: Sample[];
  subs: Sample[];
  /** Aggregate rates, msgs/s, computed like the Go `bench` package. */
  pubRate: number;
  subRate: number;
  totalRate: number;
  errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Minimal protobuf helpers for the hot messages.

/** Length-delimited field (wire type 2). */
function ldField(field: number, bytes: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(varintSize(field << 3) + varintSize(bytes.length) + bytes.length);
  let off = writeVarint(out, 0, (field << 3) | 2);
  off = writeVarint(out, off, bytes.length);
  out.set(bytes, off);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const te = new TextEncoder();
const td = new TextDecoder();

const GUID_LEN = 22;
const GUID_DIGITS = 10;
const GUID_PREFIX_LEN = GUID_LEN - GUID_DIGITS;

/** Reads the decimal counter in the last GUID_DIGITS bytes of a guid at buf[off..off+22). */
function guidCounter(buf: Uint8Array, off: number): number {
  let n = 0;
  for (let i = off + GUID_PREFIX_LEN; i < off + GUID_LEN; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function writeGuidCounter(buf: Uint8Array, off: number, n: number): void {
  for (let i = off + GUID_LEN - 1; i >= off + GUID_PREFIX_LEN; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/** Reads a varint at buf[pos]; returns [value, newPos]. Values up to 2^53. */
function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated varint');
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** Extracts MsgProto.sequence (field 1) without decoding the rest. */
function msgProtoSequence(buf: Uint8Array): number {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    pos = p;
    const wt = tag & 7;
    if (tag >>> 3 === 1 && wt === 0) return readVarint(buf, pos)[0];
    if (wt === 0) pos = readVarint(buf, pos)[1];
    else if (wt === 2) {
      const [len, p2] = readVarint(buf, pos);
      pos = p2 + len;
    } else if (wt === 5) pos += 4;
    else if (wt === 1) pos += 8;
    else throw new Error(`unexpected wire type ${wt}`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// A lean STAN connection.

interface StanConn {
  nc: NatsConnection;
  clientID: string;
  connID: Uint8Array;
  pubPrefix: string;
  subRequests: string;
  closeRequests: string;
  subCloseRequests: string;
}

async function stanConnect(url: string, clusterID: string, clientID: string): Promise<StanConn> {
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

async function stanClose(sc: StanConn): Promise<void> {
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

// ---------------------------------------------------------------------------------------------
// Publisher.

class Publisher {
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
      const [len, p] = readVarint(data, pos);
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

// ---------------------------------------------------------------------------------------------
// Subscriber.

class Subscriber {
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

// ---------------------------------------------------------------------------------------------

/** Splits n messages between p publishers like nats.go bench.MsgsPerClient. */
export function msgsPerClient(n: number, p: number): number[] {
  const counts: number[] = [];
  if (p <= 0) return counts;
  const base = Math.floor(n / p);
  const extra = n % p;
  for (let i = 0; i < p; i++) counts.push(base + (i < extra ? 1 : 0));
  return counts;
}

function groupRate(samples: Sample[]): number {
  if (samples.length === 0) return 0;
  let msgs = 0;
  let start = samples[0].startNs;
  let end = samples[0].endNs;
  for (const s of samples) {
    msgs += s.msgs;
    if (s.startNs < start) start = s.startNs;
    if (s.endNs > end) end = s.endNs;
  }
  const secs = Number(end - start) / 1e9;
  return secs > 0 ? msgs / secs : 0;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const errors: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`load generator timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
  });
  const conns: StanConn[] = [];
  try {
    const subscribers: Subscriber[] = [];
    for (let i = 0; i < o.subs; i++) {
      const sc = await stanConnect(o.url, o.clusterID, `${o.clientID}-sub-${i}`);
      conns.push(sc);
      const s = new Subscriber(sc, o.subject, o.msgs);
      await s.subscribe();
      subscribers.push(s);
    }
    const publishers: Publisher[] = [];
    const counts = msgsPerClient(o.msgs, o.pubs);
    for (let i = 0; i < o.pubs; i++) {
      const sc = await stanConnect(o.url, o.clusterID, `${o.clientID}-pub-${i}`);
      conns.push(sc);
      publishers.push(new Publisher(sc, o.subject, counts[i], o.size, o.maxPubAcksInFlight));
    }
    const pubDone = Promise.all(publishers.map((p) => p.run(o.sync)));
    const subDone = Promise.all(subscribers.map((s) => s.wait()));
    const [pubs, subs] = await Promise.race([Promise.all([pubDone, subDone]), timeout]);
    for (const p of publishers) errors.push(...p.errors);
    for (const s of subscribers) errors.push(...s.errors);
    for (const s of pubs) s.bytes = s.msgs * o.size;
    for (const s of subs) s.bytes = s.msgs * o.size;
    for (const s of subscribers) await s.close();
    const all = [...pubs, ...subs];
    return { pubs, subs, pubRate: groupRate(pubs), subRate: groupRate(subs), totalRate: groupRate(all), errors };
  } finally {
    if (timer) clearTimeout(timer);
    for (const sc of conns) await stanClose(sc).catch(() => undefined);
  }
}

function fmtDuration(ns: bigint): string {
  const ms = Number(ns) / 1e6;
  return ms >= 1000 ? `${(ms / 1000).toFixed(6)}s` : `${ms.toFixed(6)}ms`;
}

function statLine(samples: Sample[], rate: number, size: number): string {
  let msgs = 0;
  let start = samples[0].startNs;
  let end = samples[0].endNs;
  for (const s of samples) {
    msgs += s.msgs;
    if (s.startNs < start) start = s.startNs;
    if (s.endNs > end) end = s.endNs;
  }
  const mb = (rate * size) / (1024 * 1024);
  return `${Math.round(rate)} msgs/sec ~ ${mb.toFixed(2)} MB/sec (${msgs} msgs in ${fmtDuration(end - start)})`;
}

function sampleRate(s: Sample): number {
  const secs = Number(s.endNs - s.startNs) / 1e9;
  return secs > 0 ? s.msgs / secs : 0;
}

/** The report, in stan-bench's format. */
export function formatReport(r: LoadResult, size: number): string {
  const lines: string[] = [];
  let indent = '';
  if (r.pubs.length > 0 && r.subs.length > 0) {
    lines.push(`NATS Streaming Pub/Sub stats: ${statLine([...r.pubs, ...r.subs], r.totalRate, size)}`);
    indent = ' ';
  }
  const group = (name: string, samples: Sample[], rate: number): void => {
    if (samples.length === 0) return;
    lines.push(`${indent}${name} stats: ${statLine(samples, rate, size)}`);
    if (samples.length > 1) {
      const rates = samples.map(sampleRate);
      samples.forEach((s, i) => lines.push(`${indent} [${i + 1}] ${statLine([s], rates[i], size)}`));
      const avg = rates.reduce((a, b) => a + b, 0) / rates.length;
      const sd = Math.sqrt(rates.reduce((a, b) => a + (b - avg) ** 2, 0) / rates.length);
      lines.push(
        `${indent} min ${Math.round(Math.min(...rates))} | avg ${Math.round(avg)} | max ${Math.round(Math.max(...rates))} | stddev ${Math.round(sd)} msgs`,
      );
    }
  };
  group('Pub', r.pubs, r.pubRate);
  group('Sub', r.subs, r.subRate);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Command line (stan-bench compatible subset).

export function parseArgs(argv: string[]): LoadOptions & { json: boolean } {
  // Kept whole (~85 lines): a flat flag switch mirroring stan-bench's flags, one case per flag.
  const o: LoadOptions & { json: boolean } = {
    url: 'nats://127.0.0.1:4222',
    clusterID: 'test-cluster',
    clientID: 'benchmark',
    subject: '',
    pubs: 10,
    subs: 0,
    msgs: 100000,
    size: 128,
    sync: false,
    maxPubAcksInFlight: STAN_BENCH_DEFAULT_MPA,
    timeoutMs: 300_000,
    json: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    if (!raw.startsWith('-')) {
      positional.push(raw);
      continue;
    }
    const eq = raw.indexOf('=');
    const name = raw.replace(/^--?/, '').split('=')[0];
    const value = (): string => {
      if (eq >= 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`flag needs an argument: ${raw}`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`invalid value "${v}" for flag ${raw}`);
      return n;
    };
    switch (name) {
      case 's':
        o.url = value();
        break;
      case 'c':
      case 'cluster':
        o.clusterID = value();
        break;
      case 'id':
        o.clientID = value();
        break;
      case 'np':
        o.pubs = int();
        break;
      case 'ns':
        o.subs = int();
        break;
      case 'n':
        o.msgs = int();
        break;
      case 'ms':
        o.size = int();
        break;
      case 'mpa':
        o.maxPubAcksInFlight = Math.max(1, int());
        break;
      case 'sync':
        o.sync = eq < 0 || raw.slice(eq + 1) !== 'false';
        break;
      case 'timeout':
        o.timeoutMs = int() * 1000;
        break;
      case 'json':
        o.json = true;
        break;
      default:
        throw new Error(`flag provided but not defined: ${raw}`);
    }
  }
  if (positional.length !== 1) {
    throw new Error(
      'Usage: loadgen [-s server (nats://127.0.0.1:4222)] [-c CLUSTER_ID] [-id CLIENT_ID] [-np NUM_PUBLISHERS] ' +
        '[-ns NUM_SUBSCRIBERS] [-n NUM_MSGS] [-ms MESSAGE_SIZE] [-mpa MAX_NUMBER_OF_PUBLISHED_ACKS_INFLIGHT] [-sync] ' +
        '[-timeout SECS] [--json] <subject>',
    );
  }
  o.subject = positional[0];
  return o;
}

export async function main(argv: string[]): Promise<number> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n`);
    return 2;
  }
  process.stdout.write(`Starting benchmark [msgs=${o.msgs}, msgsize=${o.size}, pubs=${o.pubs}, subs=${o.subs}]\n`);
  let r: LoadResult;
  try {
    r = await runLoad(o);
  } catch (err) {
    process.stderr.write(`loadgen: ${errorText(err)}\n`);
    return 1;
  }
  process.stdout.write(`${formatReport(r, o.size)}\n`);
  if (o.json) {
    process.stdout.write(
      `JSON: ${JSON.stringify({ pubRate: r.pubRate, subRate: r.subRate, totalRate: r.totalRate, errors: r.errors })}\n`,
    );
  }
  if (r.errors.length > 0) {
    process.stderr.write(`loadgen: ${r.errors.length} error(s), first: ${r.errors[0]}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`loadgen: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
