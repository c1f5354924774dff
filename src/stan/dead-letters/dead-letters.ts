/**
 * Retires messages that reached their subscription's max deliveries (docs/dead-letters.md):
 * the delivery module removes the message from the subscription's pending set (a MsgsAcked
 * event in the log), and this module republishes it, wrapped in a JSON envelope, on the
 * dead-letter channel as a normal stored message with its own sequence (a message row in
 * the log), committed and delivered through the commit pipeline like any publish.
 */
import type { StoreLimits } from '../../config/options';
import { MsgProtoCodec } from '../../protocol/codec';
import type { StoredMsg } from '../../store/contract';
import type { CoreContext } from '../context';
import type { DeliveryCap } from '../delivery';
import { errorText } from '../../errors';
import type { Channel, Subscription } from '../state';
import { resolveDeadLetterPolicy, type DeadLetterPolicy } from './policy';

/** The payload published on the dead-letter channel. */
export interface DeadLetterEnvelope {
  channel: string;
  seq: number;
  /** Unix nanoseconds of the original message. */
  timestamp: number;
  subject: string;
  reply: string;
  client_id: string;
  durable: string;
  queue: string;
  deliveries: number;
  data_base64: string;
}

/** How the retired message enters the dead-letter channel (wired to channels and pipeline). */
export interface DeadLetterSink {
  channel(name: string): Channel;
  /** Hands a stored message to the commit pipeline (no PubAck: nobody waits for one). */
  commit(channel: Channel, seq: number): void;
}

const NO_POLICY = null;

export function buildEnvelope(sub: Subscription, msg: StoredMsg, deliveries: number): DeadLetterEnvelope {
  const m = MsgProtoCodec.decode(msg.bytes);
  const g = sub.group;
  // A durable queue group is keyed "durable:queue" (subscribe.ts): report the queue name.
  const queue = g === undefined ? '' : g.durable ? g.name.slice(sub.state.durableName.length + 1) : g.name;
  return {
    channel: sub.channel.name,
    seq: msg.seq,
    timestamp: msg.timestamp,
    subject: m.subject,
    reply: m.reply,
    client_id: sub.state.clientID,
    durable: sub.state.durableName,
    queue,
    deliveries,
    data_base64: Buffer.from(m.data).toString('base64'),
  };
}

export class DeadLetters implements DeliveryCap {
  /** Policies by "channel\0durable": resolving walks the limit entries, do it once. */
  private readonly policies = new Map<string, DeadLetterPolicy | null>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly limits: StoreLimits,
    private readonly sink: DeadLetterSink,
    /** Dead-lettered messages per source channel (metrics). */
    private readonly counts: Map<string, number>,
  ) {}

  private policy(sub: Subscription): DeadLetterPolicy | null {
    const key = `${sub.channel.name}\0${sub.state.durableName}`;
    let p = this.policies.get(key);
    if (p === undefined) {
      p = resolveDeadLetterPolicy(this.limits, sub.channel.name, sub.state.durableName) ?? NO_POLICY;
      this.policies.set(key, p);
    }
    return p;
  }

  isExhausted(sub: Subscription, deliveries: number): boolean {
    const p = this.policy(sub);
    return p !== null && deliveries >= p.maxDeliveries;
  }

  redelivered(sub: Subscription, seq: number, count: number): void {
    // Only capped subscriptions pay for the record (one small event per redelivery).
    if (this.policy(sub) !== null) sub.channel.store.subs.addSeqRedelivered?.(sub.id, seq, count);
  }

  retire(sub: Subscription, msg: StoredMsg, deliveries: number): void {
    const p = this.policy(sub);
    const source = sub.channel.name;
    this.counts.set(source, (this.counts.get(source) ?? 0) + 1);
    const what = `message ${msg.seq} of channel "${source}" (subid=${sub.id}, client "${sub.state.clientID}") after ${deliveries} deliveries`;
    if (p === null || p.deadLetter === '') {
      this.ctx.log.warn(`Dropped ${what}: max deliveries reached and no dead-letter channel configured`);
      return;
    }
    if (p.deadLetter === source) {
      this.ctx.log.error(`Dropped ${what}: its dead-letter channel is the channel itself; configure another dead_letter`);
      return;
    }
    try {
      this.store(p.deadLetter, buildEnvelope(sub, msg, deliveries));
      this.ctx.log.notice(`Dead-lettered ${what} to "${p.deadLetter}"`);
    } catch (err) {
      this.ctx.log.error(`Unable to dead-letter ${what} to "${p.deadLetter}": ${errorText(err)}`);
    }
  }

  /** Stores the envelope as the next message of the dead-letter channel (as publish.ts does). */
  private store(name: string, env: DeadLetterEnvelope): void {
    const partition = this.ctx.routing.partition;
    if (partition !== undefined && !partition.owns(name)) throw new Error(`channel "${name}" is not handled by this server (partitioning)`);
    const ch = this.sink.channel(name);
    const seq = ch.nextSeq + 1;
    let ts = this.ctx.clock.nowNanos();
    if (ts < ch.lastTimestamp) ts = ch.lastTimestamp;
    ch.store.msgs.store({ seq, timestamp: ts, subject: name, reply: '', data: Buffer.from(JSON.stringify(env)) });
    ch.nextSeq = seq;
    ch.lastTimestamp = ts;
    this.sink.commit(ch, seq);
  }
}
