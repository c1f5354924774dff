/**
 * The catch-up's light subscriber (`--catchup-client loadgen`): the load generator's STAN
 * wire on a raw socket (nats-socket.ts), so that the client's own CPU per message is small
 * and the figure shows the server. Per delivered MsgProto it reads only the sequence (field 1)
 * and the redelivered flag (field 6), and writes the acks of one socket read as one write.
 *
 * Honest counting: sequences 1..N must each arrive (the run ends when all N did); a sequence
 * received again with the redelivered flag is counted as a redelivery, one received again
 * without it is a duplicate (an error), a sequence outside 1..N is an error too.
 */
import { nuid } from 'nats';
import { ConnectRequestCodec, ConnectResponseCodec, SubscriptionRequestCodec, SubscriptionResponseCodec, CloseRequestCodec, StartPosition } from '../protocol/codec';
import { varintSize, writeVarint } from '../protocol/fast';
import { readVarint, varintEnd } from '../protocol/varint';
import { concat, ldField, te } from './loadgen-wire';
import { NatsSocket } from './nats-socket';

const REQUEST_TIMEOUT_MS = 10_000;

/** MsgProto fields read here (stan-protocol.md): 1 sequence (varint), 6 redelivered (varint). */
const TAG_SEQUENCE = (1 << 3) | 0;
const TAG_REDELIVERED = (6 << 3) | 0;

export interface CatchupCounts {
  /** Distinct sequences of 1..N received. */
  unique: number;
  /** Sequences received again with the redelivered flag. */
  redelivered: number;
  /** Sequences received again without it (should be 0). */
  duplicates: number;
  /** Messages whose sequence is outside 1..N, or unreadable (should be 0). */
  unexpected: number;
}

/**
 * The sequence of a MsgProto in buf[start..end), and in `flagOut.redelivered` its
 * redelivered flag; -1 if it has no readable sequence.
 */
export function readSeqAndFlag(buf: Uint8Array, start: number, end: number, flagOut: { redelivered: boolean }): number {
  let seq = -1;
  let redelivered = false;
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    if (tag < 0) return -1;
    pos = varintEnd.pos;
    const wt = tag & 7;
    if (wt === 0) {
      const v = readVarint(buf, pos, end);
      if (v < 0) return -1;
      pos = varintEnd.pos;
      if (tag === TAG_SEQUENCE) seq = v;
      else if (tag === TAG_REDELIVERED) redelivered = v !== 0;
    } else if (wt === 2) {
      const l = readVarint(buf, pos, end);
      if (l < 0) return -1;
      pos = varintEnd.pos + l;
    } else if (wt === 1) pos += 8;
    else if (wt === 5) pos += 4;
    else return -1;
  }
  if (pos !== end) return -1;
  flagOut.redelivered = redelivered;
  return seq;
}

/** Writes `PUB <ackInbox> <len>\r\n<Ack{subject, seq}>\r\n` frames into one growing buffer. */
class AckFrames {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private off = 0;
  private pubHead = Buffer.alloc(0);
  private readonly ackPrefix: Uint8Array;

  constructor(subject: string) {
    // Ack: 1 subject (string), 2 sequence (varint): the prefix up to the sequence's varint.
    this.ackPrefix = concat([ldField(1, te.encode(subject)), Uint8Array.of(2 << 3)]);
  }

  setInbox(ackInbox: string): void {
    this.pubHead = Buffer.from(`PUB ${ackInbox} `, 'latin1');
  }

  add(seq: number): void {
    const ackLen = this.ackPrefix.length + varintSize(seq);
    const need = this.pubHead.length + 4 + 2 + ackLen + 2;
    if (this.off + need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.off);
      this.buf = bigger;
    }
    const b = this.buf;
    let o = this.off + this.pubHead.copy(b, this.off);
    o += b.write(String(ackLen), o, 'latin1');
    b[o++] = 13;
    b[o++] = 10;
    b.set(this.ackPrefix, o);
    o = writeVarint(b, o + this.ackPrefix.length, seq);
    b[o++] = 13;
    b[o++] = 10;
    this.off = o;
  }

  /** The frames added since the last take, as their own buffer (the socket keeps it until sent). */
  take(): Buffer | null {
    if (this.off === 0) return null;
    const out = Buffer.from(this.buf.subarray(0, this.off));
    this.off = 0;
    return out;
  }
}

export interface LoadgenSubOptions {
  maxInFlight: number;
  ackWaitInSecs: number;
}

export class LoadgenCatchupClient {
  private readonly counts: CatchupCounts = { unique: 0, redelivered: 0, duplicates: 0, unexpected: 0 };

  private constructor(
    private readonly nc: NatsSocket,
    private readonly clientID: string,
    private readonly subRequests: string,
    private readonly closeRequests: string,
  ) {}

  static async connect(url: string, clusterID: string, clientID: string): Promise<LoadgenCatchupClient> {
    const nc = await NatsSocket.connect(url, 'catch-up load generator');
    const hbInbox = `_INBOX.${nuid.next()}`;
    nc.sub(hbInbox, (buf, _s, _e, rs, re) => {
      if (re > rs) nc.pub(buf.toString('latin1', rs, re), new Uint8Array(0));
    });
    const req = ConnectRequestCodec.encode({ clientID, heartbeatInbox: hbInbox, protocol: 1, connID: te.encode(nuid.next()), pingInterval: 5, pingMaxOut: 88 });
    const reply = await nc.requestAsync(`_STAN.discover.${clusterID}`, req, `_INBOX.${nuid.next()}`, REQUEST_TIMEOUT_MS);
    const resp = ConnectResponseCodec.decode(reply);
    if (resp.error) {
      nc.close();
      throw new Error(`stan connect ${clientID}: ${resp.error}`);
    }
    return new LoadgenCatchupClient(nc, clientID, resp.subRequests, resp.closeRequests);
  }

  /**
   * Subscribes with deliver-all to sequences 1..n of `subject`, acking every message;
   * `onNew` is called for each sequence received for the first time.
   */
  start(subject: string, n: number, o: LoadgenSubOptions, onNew: () => void, onError: (err: Error) => void): void {
    const seen = new Uint8Array(n + 1);
    const counts = this.counts;
    const acks = new AckFrames(subject);
    const flag = { redelivered: false };
    let ready = false;
    // Messages before the SubscriptionResponse (same read): their acks wait for its ack inbox.
    const early: number[] = [];
    this.nc.onFailure = onError;
    this.nc.onReadEnd = () => {
      const frames = acks.take();
      if (frames !== null) this.nc.write(frames);
    };
    const inbox = `_INBOX.${nuid.next()}`;
    this.nc.sub(inbox, (buf, start, end) => {
      const seq = readSeqAndFlag(buf, start, end, flag);
      if (seq < 1 || seq > n) {
        counts.unexpected++;
        if (seq < 1) return; // nothing to ack
      } else if (seen[seq] === 0) {
        seen[seq] = 1;
        counts.unique++;
        onNew();
      } else if (flag.redelivered) counts.redelivered++;
      else counts.duplicates++;
      if (ready) acks.add(seq);
      else early.push(seq);
    });
    const req = SubscriptionRequestCodec.encode({
      clientID: this.clientID,
      subject,
      inbox,
      maxInFlight: o.maxInFlight,
      ackWaitInSecs: o.ackWaitInSecs,
      startPosition: StartPosition.First,
    });
    this.nc.request(this.subRequests, req, `_INBOX.${nuid.next()}`, (reply) => {
      const resp = SubscriptionResponseCodec.decode(reply);
      if (resp.error) {
        onError(new Error(`stan subscribe ${subject}: ${resp.error}`));
        return;
      }
      acks.setInbox(resp.ackInbox);
      ready = true;
      for (const seq of early) acks.add(seq);
    });
  }

  result(): CatchupCounts {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.nc.onFailure = () => undefined;
    const req = CloseRequestCodec.encode({ clientID: this.clientID });
    await this.nc.requestAsync(this.closeRequests, req, `_INBOX.${nuid.next()}`, REQUEST_TIMEOUT_MS).catch(() => undefined);
    this.nc.close();
  }
}
