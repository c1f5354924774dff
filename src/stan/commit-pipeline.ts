/**
 * The commit pipeline: the only place where a store commit becomes deliveries and PubAcks
 * (spec §3.2 step 4).
 *
 * A publish is sequenced and recorded in the store as it arrives (publish.ts), then handed
 * here. Everything handed over during one burst of synchronous handling (one socket read of
 * the external transport, one in-process dispatch) forms a group; at the end of the burst
 * (a microtask, not a timer: no extra event-loop turn) the group asks `store.commit()` once.
 * Batching in time and size is the store's job alone: its commit() is the one group-commit
 * layer (the SQL store gathers everything recorded until its transaction starts, caps rows
 * per transaction with io_batch_size and resolves each caller once its records are durable).
 *
 * Groups settle in the order they were made (the store resolves commits in order), and each
 * group, once its commit resolved: advances the channels' deliverable sequence, delivers,
 * then acknowledges its publishers in arrival order. A PubAck is therefore never sent
 * before the commit that covers its message, and PubAcks keep the order of the publishes.
 *
 * A failed commit answers its publishers with the error (their messages were not durable when
 * the answer left), but the SQL store keeps the rows and writes them on a later attempt
 * (group-commit.ts: only a row the database refuses for good is dropped, and it is a gap
 * delivery skips). So the messages of a failed group are remembered per channel and become
 * deliverable once a later commit() resolves, which covers everything recorded before it was
 * asked (store contract): the next group's commit, or, when nobody publishes on, a commit the
 * pipeline asks by itself after a pause (retryFailed). Without that, a channel with no further
 * publish kept such a message stored (counted by monitoring) and undelivered until a restart.
 */
import type { Logger } from '../logging/logger';
import { RepeatedErrorLog } from '../logging/repeated-error';
import type { NatsTransport } from '../nats/transport';
import { PubAckCodec } from '../protocol/codec';
import type { Store } from '../store/contract';
import { AckGroup } from './ack-group';
import type { Clock, TimerHandle } from './clock';
import type { Channel } from './state';
import { errorText } from '../errors';

/** Settled groups kept for reuse: enough for the groups of a few bursts in flight at once. */
const SPARE_GROUPS = 4;
/**
 * First pause before the pipeline asks a commit by itself after a failed one (the SQL store
 * retries a transient failure after 200 ms), doubled after each rejected ask up to
 * RETRY_MAX_MS: a failed store rejects commits at once, which must not become a hot loop.
 */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 3200;

/** The messages of failed groups on one channel, lowest and highest sequence. */
interface Undelivered {
  from: number;
  to: number;
}

export class CommitPipeline {
  /** The group being filled by the current burst; undefined once its commit was asked. */
  private open: AckGroup | undefined;
  /** Settles when the last group asked so far has delivered and sent its PubAcks. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** PubAck bytes of the last group, plus a quarter: the next group's first buffer size. */
  private ackBytesHint = 0;
  /** Publishes of the last group, plus a quarter: the next new group's column size. */
  private ackCountHint = 0;
  /** Settled groups whose columns the next bursts reuse (ack-group.ts: no arrays per burst). */
  private readonly spare: AckGroup[] = [];
  /** A failing store fails every group: one log line per incident, not per group. */
  private readonly storeFailures: RepeatedErrorLog;
  /**
   * Channels with messages of failed groups (not refused by the store at the time), waiting for
   * a later commit to resolve; undefined while there are none (the success path's one check).
   */
  private failed: Map<Channel, Undelivered> | undefined;
  /** The pipeline's own commit after a failure: its timer, or 'asked' while it is in flight. */
  private retry: TimerHandle | 'asked' | undefined;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly transport: NatsTransport,
    private readonly log: Logger,
    /** Delivers the committed messages of a channel (delivery.ts). */
    private readonly deliver: (channel: Channel) => void,
    /** Times the pipeline's own commit after a failure (retryFailed). */
    private readonly clock: Clock,
  ) {
    this.storeFailures = new RepeatedErrorLog(log, 'Unable to store messages', 'Publishing');
  }

  /** Queue a message already recorded in the store (channel.nextSeq assigned). */
  add(channel: Channel, seq: number, guid: Uint8Array, ackSubject: string | undefined): void {
    this.addRange(channel, seq, guid, 0, guid.length, ackSubject);
  }

  /** As add(), the guid being guidSrc[guid0, guid1) (copied here: the source is the transport's buffer). */
  addRange(channel: Channel, seq: number, guidSrc: Uint8Array, guid0: number, guid1: number, ackSubject: string | undefined): void {
    let group = this.open;
    if (group === undefined) {
      const spare = this.spare.pop();
      group = this.open = spare !== undefined ? spare.reopen(this.ackBytesHint) : new AckGroup(this.ackBytesHint, this.ackCountHint);
      queueMicrotask(this.commitOpenGroup);
    }
    group.add(channel, seq, guidSrc, guid0, guid1, ackSubject);
  }

  /** Resolves once everything received so far has been committed, delivered and acked. */
  barrier(): Promise<void> {
    if (this.open === undefined && this.inFlight === 0) return Promise.resolve();
    // The open group asks its commit in a microtask: wait for it to join the chain first.
    return new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => this.tail);
  }

  /**
   * The server stops (shutdown, FT step-down): no more commits of the pipeline's own, and the
   * messages of failed groups are no longer delivered here (a restart recovers what is stored).
   * Groups in flight still settle (barrier() waits for them).
   */
  close(): void {
    this.closed = true;
    this.failed = undefined;
    if (this.retry !== undefined && this.retry !== 'asked') this.clock.clearTimeout(this.retry);
    this.retry = undefined;
  }

  /**
   * A deleted channel: its messages of failed groups are never delivered (it has no active
   * subscription, and its rows go with it), and the pipeline no longer holds the channel
   * (its message cache) until a commit resolves, which a store failed for good never does.
   */
  forget(channel: Channel): void {
    if (this.failed === undefined) return;
    this.failed.delete(channel);
    if (this.failed.size > 0) return;
    // Nothing left to wait for: no commit of its own any more, and the next incident starts
    // with the first pause again.
    this.failed = undefined;
    this.retryMs = RETRY_FIRST_MS;
    if (this.retry !== undefined && this.retry !== 'asked') {
      this.clock.clearTimeout(this.retry);
      this.retry = undefined;
    }
  }

  private readonly commitOpenGroup = (): void => {
    const group = this.open;
    this.open = undefined;
    if (group === undefined || group.length === 0) return;
    this.ackBytesHint = group.usedBytes + (group.usedBytes >> 2);
    this.ackCountHint = group.length + (group.length >> 2);
    this.inFlight++;
    const committed = this.store.commit().then(
      () => undefined,
      (err: unknown) => new Error(errorText(err)),
    );
    // Chained on the previous group: PubAcks leave in the order of the publishes even if a
    // store ever resolved two commits out of order.
    this.tail = Promise.all([committed, this.tail]).then(([err]) => {
      this.inFlight--;
      try {
        this.settle(group, err);
      } catch (e) {
        // Never break the chain: later groups must still be acknowledged.
        this.log.error(`Unexpected error acknowledging published messages: ${errorText(e)}`);
      }
      if (this.spare.length < SPARE_GROUPS) {
        group.release();
        this.spare.push(group);
      }
    });
  };

  private settle(group: AckGroup, err: Error | undefined): void {
    const { channels, seqs } = group;
    const n = group.length;
    if (err) {
      this.storeFailures.error(err.message);
      // The messages are not durable: every publisher of the group gets the store error, or
      // the reason the database refused its very message. The others may still be stored by
      // the store's retry: delivered once a later commit resolves (see the module comment).
      for (let i = 0; i < n; i++) {
        const why = this.refusal(channels[i], seqs[i]);
        this.sendAck(group, i, why ?? err.message);
        if (why === undefined) this.noteUndelivered(channels[i], seqs[i]);
      }
      this.scheduleRetry();
      return;
    }
    this.storeFailures.ok();
    // This commit covers the failed groups before it (asked before it, settled before it).
    if (this.failed !== undefined) this.deliverFailed();
    for (let i = 0; i < n; i++) {
      if (seqs[i] > channels[i].deliverableSeq) channels[i].deliverableSeq = seqs[i];
    }
    let last: Channel | undefined;
    for (let i = 0; i < n; i++) {
      if (channels[i] !== last) {
        last = channels[i];
        this.deliver(last);
      }
    }
    // A refused message is a gap that delivery skips; the others of the group are stored.
    const run = this.transport.publishRun;
    if (run === undefined) {
      for (let i = 0; i < n; i++) this.sendAck(group, i, this.refusal(channels[i], seqs[i]) ?? '');
      return;
    }
    // The OK PubAcks to one ack inbox in a row (one publisher's publishes of the burst) go as
    // one run; a refused message ends a run and gets its error PubAck. Same order as one by one.
    const subjects = group.ackSubjects;
    let i = 0;
    // Asked once per message: takeRefusal forgets (and this logs) what it returns.
    let why = n > 0 ? this.refusal(channels[0], seqs[0]) : undefined;
    while (i < n) {
      if (why !== undefined) {
        this.sendAck(group, i, why);
        i++;
        why = i < n ? this.refusal(channels[i], seqs[i]) : undefined;
        continue;
      }
      const subject = subjects[i];
      let j = i + 1;
      while (j < n) {
        why = this.refusal(channels[j], seqs[j]);
        if (why !== undefined || subjects[j] !== subject) break;
        j++;
      }
      if (subject) run.call(this.transport, subject, group.okBytes, group.okBounds, i, j);
      i = j;
    }
  }

  private noteUndelivered(channel: Channel, seq: number): void {
    if (this.closed) return;
    const failed = (this.failed ??= new Map());
    const r = failed.get(channel);
    if (r === undefined) failed.set(channel, { from: seq, to: seq });
    else {
      if (seq < r.from) r.from = seq;
      if (seq > r.to) r.to = seq;
    }
  }

  /**
   * A commit resolved that covers every failed group so far: their messages are durable, or
   * were refused by the store's retry after their publishers were answered (gaps that
   * delivery skips; their reason is logged here, and the store forgets it). Never moves
   * deliverableSeq back; delivery sends in sequence order from each subscription's position.
   */
  private deliverFailed(): void {
    const failed = this.failed;
    this.failed = undefined;
    this.retryMs = RETRY_FIRST_MS;
    if (this.retry !== undefined && this.retry !== 'asked') {
      this.clock.clearTimeout(this.retry);
      this.retry = undefined;
    }
    if (failed === undefined) return;
    for (const [channel, r] of failed) {
      // Every sequence in from..to is of a failed group: a success in between would have
      // emptied `failed`. Refusals taken when the group failed are asked again for nothing.
      for (let seq = r.from; seq <= r.to; seq++) this.refusal(channel, seq);
      if (r.to > channel.deliverableSeq) channel.deliverableSeq = r.to;
      this.deliver(channel);
    }
  }

  /** After a failed group: ask a commit by itself later, in case nobody publishes any more. */
  private scheduleRetry(): void {
    if (this.closed || this.failed === undefined || this.retry !== undefined) return;
    this.retry = this.clock.setTimeout(this.retryFailed, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  /**
   * The pipeline's own commit, chained behind the groups asked before it like a group with no
   * message: when it settles, every failed group in `failed` was asked, hence recorded, before
   * it, so its success makes them deliverable. A rejection is not logged again (the group's
   * failure opened the incident; its success closes it: "working again"); it pauses longer.
   */
  private readonly retryFailed = (): void => {
    this.retry = 'asked';
    const committed = this.store.commit().then(
      () => true,
      () => false,
    );
    this.tail = Promise.all([committed, this.tail]).then(([ok]) => {
      if (this.retry === 'asked') this.retry = undefined;
      if (this.closed) return;
      try {
        if (!ok) this.scheduleRetry();
        else if (this.failed !== undefined) {
          this.storeFailures.ok();
          this.deliverFailed();
        }
      } catch (e) {
        this.log.error(`Unexpected error delivering messages after a failed commit: ${errorText(e)}`);
      }
    });
  };

  /** Why the store refused this very message (logged here, once per message), if it did. */
  private refusal(channel: Channel, seq: number): string | undefined {
    const take = channel.store.msgs.takeRefusal;
    if (take === undefined) return undefined;
    const why = take.call(channel.store.msgs, seq);
    if (why !== undefined) this.log.error(`Unable to store message ${seq} of channel "${channel.name}": ${why}`);
    return why;
  }

  private sendAck(group: AckGroup, i: number, error: string): void {
    const ackSubject = group.ackSubjects[i];
    if (!ackSubject) return;
    if (error) this.transport.publish(ackSubject, PubAckCodec.encode({ guid: group.guid(i), error }));
    else if (this.transport.publishRange !== undefined) this.transport.publishRange(ackSubject, group.okBytes, group.okBounds[i], group.okBounds[i + 1]);
    else this.transport.publish(ackSubject, group.okPubAck(i));
  }
}
