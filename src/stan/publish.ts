/**
 * The publish fast path (spec §3.2): decode a PubMsg in place, find its client and channel
 * (one-entry caches: publishers repeat the same ones), assign the sequence and timestamp,
 * record the message in the store and hand it to the commit pipeline, which sends the
 * PubAck once the message is durable. Refusals answer with an error PubAck at once.
 */
import { isCtrlMsg, PubAckCodec } from '../protocol/codec';
import { decodePubMsgRaw, newPubMsgRaw } from '../protocol/fast';
import { StoreUnavailableError, type NewMsg } from '../store/contract';
import { BurstClock } from './burst-clock';
import type { Channels } from './channels';
import type { Clients } from './clients';
import type { CommitPipeline } from './commit-pipeline';
import type { CoreContext } from './context';
import * as E from './errors';
import { errorText } from '../errors';
import { firstSeqBeforeStore, noticeIfLimitReached } from './limit-notice';
import { ClientRegistry } from './partitioning';
import { connIDKey, type Channel, type Client } from './state';
import { isValidChannelName } from '../subject';

/**
 * True when `cached` holds exactly the bytes buf[start, end). A loop in JS: for the short
 * subjects and connection IDs compared here on every publish, the native `Buffer.compare`
 * call cost more than the comparison (~0.15 µs per call, `compareOffset` in the profile).
 */
function sameBytes(cached: Buffer | undefined, buf: Buffer, start: number, end: number): boolean {
  const n = end - start;
  if (cached === undefined || cached.length !== n) return false;
  // Four bytes per iteration (typed-array accesses are not cheap: see ack-group.ts).
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (cached[i] !== buf[start + i] || cached[i + 1] !== buf[start + i + 1] || cached[i + 2] !== buf[start + i + 2] || cached[i + 3] !== buf[start + i + 3]) return false;
  }
  for (; i < n; i++) if (cached[i] !== buf[start + i]) return false;
  return true;
}

const EMPTY = Buffer.alloc(0);

export class PublishHandler {
  /** Reused by every publish: the decoder fills byte ranges in place (no allocation). */
  private readonly rawPub = newPubMsgRaw();
  /** One-entry caches: publishers repeat the same channel and connection, message after message. */
  private lastSubject: Buffer | undefined;
  private lastSubjectChannel: Channel | undefined;
  private lastConnID: Buffer | undefined;
  private lastConnClient: Client | undefined;
  /** One clock reading per burst of publishes (burst-clock.ts). */
  private readonly clock: BurstClock;
  /**
   * The message handed to the store, refilled for every publish: the stores copy what they
   * keep (MsgStore.append/store never keep the object), so one object serves them all.
   */
  private readonly msg: NewMsg = { seq: 0, timestamp: 0, subject: '', reply: '', data: EMPTY };

  constructor(
    private readonly ctx: CoreContext,
    private readonly clients: Clients,
    private readonly channels: Channels,
    private readonly pipeline: CommitPipeline,
  ) {
    this.clock = new BurstClock(ctx.clock);
  }

  private pubAckError(reply: string | undefined, guid: string, error: string): void {
    this.ctx.reply(reply, PubAckCodec.encode(guid ? { guid, error } : { error }));
  }

  /** The publisher named by the PubMsg (by connection ID when it has one), if registered. */
  private findClient(): Client | undefined {
    const r = this.rawPub;
    const buf = r.buf;
    if (r.connID1 <= r.connID0) return this.clients.byID.get(buf.toString('utf8', r.clientID0, r.clientID1));
    const cached = this.lastConnClient;
    if (cached !== undefined && !cached.closing && sameBytes(this.lastConnID, buf, r.connID0, r.connID1)) return cached;
    const connID = buf.subarray(r.connID0, r.connID1);
    const c = this.clients.byConn.get(connIDKey(connID));
    if (c !== undefined) {
      this.lastConnID = Buffer.from(connID);
      this.lastConnClient = c;
    }
    return c;
  }

  /**
   * A PubMsg, the bytes src[start, end) (the socket chunk it arrived in, for the embedded
   * server: no view per message; a whole buffer from other transports).
   */
  onPublish(natsSubject: string, reply: string | undefined, src: Uint8Array, start: number, end: number, waited = false): void {
    const r = this.rawPub;
    try {
      decodePubMsgRaw(src, r, start, end);
    } catch {
      if (isCtrlMsg(src.subarray(start, end))) return;
      this.ctx.log.error(`Received invalid publish request on "${natsSubject}": unable to decode`);
      return this.pubAckError(reply, '', E.ERR_INVALID_PUB_REQ);
    }
    const buf = r.buf;
    if (r.guid1 === r.guid0) return this.invalidPublish(reply, 'missing guid');
    const c = this.findClient();
    if (c === undefined && this.ctx.routing.registry !== undefined && !waited) return this.publishWhenRegistered(natsSubject, reply, src.subarray(start, end));

    let ch: Channel | undefined = this.lastSubjectChannel;
    if (ch === undefined || ch.deleting || !sameBytes(this.lastSubject, buf, r.subject0, r.subject1)) {
      ch = this.channelOf(c, reply);
      if (ch === undefined) return;
    } else if (c === undefined) {
      return this.invalidPublish(reply, `unknown client (subject="${ch.name}")`);
    }
    if (c === undefined) return;
    this.record(c, ch, reply, end - start);
  }

  /** The PubMsg's channel, created if needed; undefined (the publisher answered) if refused. */
  private channelOf(c: Client | undefined, reply: string | undefined): Channel | undefined {
    const r = this.rawPub;
    const buf = r.buf;
    const subject = buf.toString('utf8', r.subject0, r.subject1);
    if (!isValidChannelName(subject)) return void this.invalidPublish(reply, `invalid subject "${subject}"`);
    if (c === undefined) return void this.invalidPublish(reply, `unknown client (subject="${subject}")`);
    // Only channels of our partition are created (the NATS subject matched our list, but
    // PubMsg.subject is what counts).
    const partition = this.ctx.routing.partition;
    if (partition !== undefined && !partition.owns(subject)) {
      return void this.invalidPublish(reply, `channel "${subject}" is not handled by this server (partitioning)`);
    }
    let ch: Channel;
    try {
      ch = this.channels.getOrCreate(subject);
    } catch (err) {
      const msg = errorText(err);
      this.ctx.log.error(`[Client:${c.id}] Unable to create channel "${subject}": ${msg}`);
      return void this.pubAckError(reply, buf.toString('utf8', r.guid0, r.guid1), msg);
    }
    this.lastSubject = Buffer.from(buf.subarray(r.subject0, r.subject1));
    this.lastSubjectChannel = ch;
    return ch;
  }

  /** Sequences and stores the decoded message, then queues its PubAck behind the commit. */
  private record(c: Client, ch: Channel, reply: string | undefined, size: number): void {
    const { ctx } = this;
    const r = this.rawPub;
    const buf = r.buf;
    const seq = ch.nextSeq + 1;
    let ts = this.clock.nanos();
    if (ts < ch.lastTimestamp) ts = ch.lastTimestamp;
    const msgReply = r.reply1 > r.reply0 ? buf.toString('utf8', r.reply0, r.reply1) : '';
    const firstBefore = firstSeqBeforeStore(ch);
    try {
      const msgs = ch.store.msgs;
      const msg = this.msg;
      msg.seq = seq;
      msg.timestamp = ts;
      msg.subject = ch.name;
      msg.reply = msgReply;
      // A plain Uint8Array view: `subarray` of a Buffer goes through its species constructor
      // (~2× the cost of the view itself, `FastBuffer` in the profiles).
      msg.data = new Uint8Array(buf.buffer, buf.byteOffset + r.data0, r.data1 - r.data0);
      // append: the same as store() without building a stored form nobody reads here.
      if (msgs.append !== undefined) msgs.append(msg);
      else msgs.store(msg);
    } catch (err) {
      const msg = errorText(err);
      // A failed store logs its incident itself: no line per refused publish.
      if (!(err instanceof StoreUnavailableError)) ctx.log.error(`[Client:${c.id}] Unable to store message on "${ch.name}": ${msg}`);
      return this.pubAckError(reply, buf.toString('utf8', r.guid0, r.guid1), msg);
    } finally {
      // The reused object must not keep the socket chunk alive.
      this.msg.data = EMPTY;
    }
    noticeIfLimitReached(ch, firstBefore, ctx.log);
    ch.nextSeq = seq;
    ch.lastTimestamp = ts;
    ctx.stats.inMsgs++;
    ctx.stats.inBytes += size;
    if (ctx.log.isTrace) {
      ctx.log.trace(`[Client:${c.id}] Received message from publisher subj=${ch.name} guid=${buf.toString('utf8', r.guid0, r.guid1)}`);
    }
    if (ch.inactivityTimer) this.channels.checkInactivity(ch);
    // The guid bytes are in the request's buffer: the pipeline copies them into the PubAck.
    this.pipeline.addRange(ch, seq, buf, r.guid0, r.guid1, reply);
  }

  /**
   * Partitioning: the publisher is not registered here (yet): wait for its connect, then
   * handle the publish once more (spec §3.2 step 3). The payload is copied: the transport
   * may reuse its buffer.
   */
  private publishWhenRegistered(natsSubject: string, reply: string | undefined, data: Uint8Array): void {
    const registry = this.ctx.routing.registry;
    if (registry === undefined) return;
    const r = this.rawPub;
    const copy = Buffer.from(data);
    let key: string;
    let isKnown: () => boolean;
    if (r.connID1 > r.connID0) {
      const ck = connIDKey(r.buf.subarray(r.connID0, r.connID1));
      key = ClientRegistry.connKey(ck);
      isKnown = () => this.clients.byConn.has(ck);
    } else {
      const id = r.buf.toString('utf8', r.clientID0, r.clientID1);
      key = ClientRegistry.idKey(id);
      isKnown = () => this.clients.byID.has(id);
    }
    const p = registry.waitFor(key, isKnown).then(() => {
      if (!this.ctx.closed()) this.onPublish(natsSubject, reply, copy, 0, copy.length, true);
    });
    this.ctx.track(p);
  }

  /** `stan: invalid publish request` with a log line naming the cause (spec §3.2). */
  private invalidPublish(reply: string | undefined, why: string): void {
    const r = this.rawPub;
    const clientID = r.buf.toString('utf8', r.clientID0, r.clientID1);
    const guid = r.buf.toString('utf8', r.guid0, r.guid1);
    this.ctx.log.error(`[Client:${clientID}] Received invalid publish request: ${why} (guid="${guid}")`);
    this.pubAckError(reply, guid, E.ERR_INVALID_PUB_REQ);
  }
}
