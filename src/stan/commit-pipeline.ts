/**
 * The publish pipeline (spec §3.2 step 4). Publishes are sequenced and recorded in the store
 * as they arrive, gathered into one batch per event-loop turn, made durable by a single
 * `store.commit()` (the group commit), then delivered to subscribers, and only then
 * acknowledged to their publishers. While a commit is in flight the next batch fills up,
 * so a slow store gets bigger batches instead of more round trips.
 */
import type { Logger } from '../logging/logger';
import { RepeatedErrorLog } from '../logging/repeated-error';
import type { NatsTransport } from '../nats/transport';
import { PubAckCodec } from '../protocol/codec';
import { encodeOkPubAckBytes } from '../protocol/fast';
import type { Store } from '../store/types';
import type { Channel } from './state';

interface Pending {
  channel: Channel;
  seq: number;
  /** The guid's bytes (a view of the PubMsg, alive until the PubAck is written). */
  guid: Uint8Array;
  ackSubject: string | undefined;
}

export class PublishPipeline {
  private batch: Pending[] = [];
  private scheduled = false;
  private committing = false;
  private idleWaiters: Array<() => void> = [];
  /** Set by the server: deliver committed messages of a channel. */
  onCommitted: (channel: Channel) => void = () => {};

  /** A failing store fails every batch: one log line per incident, not per batch. */
  private readonly storeFailures: RepeatedErrorLog;

  constructor(
    private readonly store: Store,
    private readonly transport: NatsTransport,
    private readonly log: Logger,
    private readonly maxBatch: number,
  ) {
    this.storeFailures = new RepeatedErrorLog(log, 'Unable to store messages', 'Publishing');
  }

  /** Queue a message already recorded in the store (channel.nextSeq assigned). */
  add(channel: Channel, seq: number, guid: Uint8Array, ackSubject: string | undefined): void {
    this.batch.push({ channel, seq, guid, ackSubject });
    if (!this.scheduled && !this.committing) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Resolves once everything received so far has been committed, delivered and acked. */
  barrier(): Promise<void> {
    if (!this.scheduled && !this.committing && this.batch.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.committing) return;
    if (this.batch.length === 0) {
      this.releaseWaiters();
      return;
    }
    const batch = this.batch.length > this.maxBatch && this.maxBatch > 0 ? this.batch.splice(0, this.maxBatch) : this.batch;
    if (batch === this.batch) this.batch = [];
    this.committing = true;
    this.store.commit().then(
      () => this.committed(batch, undefined),
      (err: unknown) => this.committed(batch, err instanceof Error ? err : new Error(String(err))),
    );
  };

  private committed(batch: Pending[], err: Error | undefined): void {
    this.committing = false;
    if (err) {
      this.storeFailures.error(err.message);
      // The messages are not durable: every publisher of the batch gets the store error, or
      // the reason the database refused its very message.
      for (const p of batch) this.sendAck(p, this.refusal(p) ?? err.message);
    } else {
      this.storeFailures.ok();
      let last: Channel | undefined;
      for (const p of batch) {
        if (p.seq > p.channel.deliverableSeq) p.channel.deliverableSeq = p.seq;
      }
      for (const p of batch) {
        if (p.channel !== last) {
          last = p.channel;
          this.onCommitted(p.channel);
        }
      }
      // A refused message is a gap that delivery skips; the others of the batch are stored.
      for (const p of batch) this.sendAck(p, this.refusal(p) ?? '');
    }
    if (this.batch.length > 0) {
      this.scheduled = true;
      setImmediate(this.flush);
    } else {
      this.releaseWaiters();
    }
  }

  /** Why the store refused this very message (logged here, once per message), if it did. */
  private refusal(p: Pending): string | undefined {
    const why = p.channel.store.msgs.takeRefusal?.(p.seq);
    if (why !== undefined) this.log.error(`Unable to store message ${p.seq} of channel "${p.channel.name}": ${why}`);
    return why;
  }

  private sendAck(p: Pending, error: string): void {
    if (!p.ackSubject) return;
    const bytes = error ? PubAckCodec.encode({ guid: Buffer.from(p.guid).toString('utf8'), error }) : encodeOkPubAckBytes(p.guid);
    this.transport.publish(p.ackSubject, bytes);
  }

  private releaseWaiters(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
