/**
 * One channel of the SQL store: its messages (a cache of the newest encoded messages plus the
 * hot ring of sizes/timestamps, cold messages read from the database), its subscriptions, and
 * the count/bytes/age limits applied to them. Writes are not done here: every change is
 * recorded on the ChannelHost (the SqlStore facade), which commits it in its next batch.
 */
import type { Kysely } from 'kysely';
import type { ChannelLimits } from '../../config/options';
import type { SubState } from '../../protocol/codec';
import { encodeMsgProto, encodeMsgProtoInto, msgProtoSize } from '../../protocol/fast';
import { EventKind, type StoreEvent } from '../events/events';
import { ChannelStore, ERR_TOO_MANY_SUBS, MsgStore, NewMsg, StoredMsg, StoreError, StoreUnavailableError, SubStore } from '../contract';
import { HotRing } from '../limits/hot-ring';
import { exceedsCountLimits, isAgeExpired } from '../limits/policy';
import { num, toBuffer } from './dialect';
import type { Database } from './schema';
import type { MsgRow } from './pending-batch';
import { ColdPages } from './cold-pages';
import { HotCache } from './hot-cache';
import type { PageRead } from './dialect/page-reads';
import { toError } from '../../errors';
import { firstHotReaching, firstStoredReaching, type RowProbe } from './ts-search';
import { countThrough } from '../limits/span-count';

/**
 * What a channel needs from its store: the reader pool, the store-wide state that gates a
 * publish, and the record calls that queue its changes for the next group commit.
 */
export interface ChannelHost {
  /** Reader pool (cold message reads, cold max_age queries). */
  readonly db: Kysely<Database>;
  /** Cold page reads without the query builder, where the driver has them (dialect/page-reads.ts). */
  readonly readPage?: PageRead;
  /** Set while the store cannot write (see SqlStore.failure). */
  readonly failure: string | undefined;
  readonly maxMessageBytes: number | undefined;
  readonly encrypting: boolean;
  recordMessage(row: MsgRow): void;
  recordEvent(e: StoreEvent): void;
  /** An event nobody awaits a commit for (written by the background commit, like progress). */
  recordBackgroundEvent(e: StoreEvent): void;
  recordTruncate(channelID: number, firstSeq: number): void;
  recordProgress(channelID: number, subID: number, sent: boolean, seq: number): void;
  nextSubID(): number;
  /** A row's data back as the marshalled MsgProto (decrypted), or a StoreError. */
  openRow(ch: { id: number; name: string }, seq: number, data: Buffer): Buffer;
  /** Starts a commit nobody awaits (cold max_age expiry); its failure is reported by the store. */
  commitSoon(): void;
  reportError(err: Error): void;
}

function cloneSub(s: SubState): SubState {
  return { ...s };
}

export class SqlMsgStore implements MsgStore {
  firstSeq = 0;
  lastSeq = 0;
  msgCount = 0;
  byteCount = 0;
  lastTimestamp = 0;
  /** The newest messages (bounded by count and bytes), so live delivery never reads the database. */
  private readonly cache = new HotCache();
  private readonly hot = new HotRing();
  /** A cold-age query is running (retention timer): don't start another. */
  private coldAgeQuery = false;
  /**
   * No cold row at or after firstSeq is older than this: the timestamp of the first one that
   * the last cold-age query found unexpired (-Infinity: not known). Timestamps never decrease
   * along the sequence (ts-search.ts) and truncations (limits, max_age, purge) only move
   * firstSeq up, so it stays a floor. Until the cutoff reaches it the retention tick asks the
   * database nothing: the search costs ~log2(cold rows) + 1 queries, and the timer ticks every
   * second for every max_age channel that still has recovered messages.
   */
  private coldTsFloor = -Infinity;
  /** Bumped when the rows may change other than by truncation (restore, forgetRecent): a cold-age answer of before no longer sets the floor. */
  private coldEpoch = 0;

  /** Cold messages read a page at a time, ahead of a catching-up subscriber. */
  private readonly cold: ColdPages;

  constructor(private readonly ch: SqlChannelStore) {
    this.cold = new ColdPages(
      (from, to) => this.readRows(from, to),
      () => (this.msgCount > 0 ? this.byteCount / this.msgCount : 0),
      // Only a read-ahead fails here (a reader's own read rejects to the reader): log it with
      // what it means; the messages are read again when the subscriber reaches them.
      (err) => this.ch.host.reportError(new Error(`reading ahead stored messages of channel "${this.ch.name}" failed (read again when needed): ${err.message}`)),
    );
  }

  store(msg: NewMsg): StoredMsg {
    if (msg.seq <= this.lastSeq) return { seq: msg.seq, timestamp: msg.timestamp, bytes: encodeMsgProto(msg.seq, msg.subject, msg.reply, msg.data, msg.timestampNs ?? msg.timestamp) };
    const chunk = this.appendBytes(msg);
    const at = this.cache.lastOffset;
    return { seq: msg.seq, timestamp: msg.timestamp, bytes: chunk.subarray(at, at + this.lastSize) };
  }

  append(msg: NewMsg): void {
    if (msg.seq > this.lastSeq) this.appendBytes(msg);
  }

  /** Size of the message the last appendBytes stored. */
  private lastSize = 0;

  /** Stores a message above lastSeq; returns the cache chunk its bytes were encoded into (at the cache's lastOffset, lastSize bytes). */
  private appendBytes(msg: NewMsg): Buffer {
    const ts = msg.timestampNs ?? msg.timestamp;
    // A store that cannot write until someone fixes the database takes no new messages:
    // their publishers learn why at once instead of after a slow retry.
    const failed = this.ch.host.failure;
    if (failed !== undefined) throw new StoreUnavailableError(`store failed: ${failed}`);
    const size = msgProtoSize(msg.seq, msg.subject, msg.reply, msg.data, ts);
    const max = this.ch.host.maxMessageBytes;
    if (max !== undefined && size > max) {
      throw new StoreError(
        `message too large for the database: ${size} bytes stored, the database accepts at most ${max} ` +
          '(MySQL/MariaDB max_allowed_packet: raise it, or lower the NATS max_payload)',
      );
    }
    // Encoded once, straight into the cache's chunk; the row to write refers to it.
    const chunk = this.cache.add(msg.seq, msg.timestamp, size);
    const off = this.cache.lastOffset;
    encodeMsgProtoInto(chunk, off, msg.seq, msg.subject, msg.reply, msg.data, ts);
    this.lastSize = size;
    // The span first..last, as the projection counts it (a sequence skipped, e.g. a damaged
    // record left out by an import, counts as a refused one does).
    countThrough(this, msg.seq);
    this.lastTimestamp = msg.timestamp;
    this.byteCount += size;
    this.hot.push(msg.seq, size, msg.timestamp);
    // `size` stays the plaintext size: limits, monitoring and recovery count the message, not
    // its encryption overhead, whether encryption is on or off.
    // Encrypted rows are sealed by the store off the main thread (SqlStore.dispatchSeal). No
    // Buffer view per row: the writers read the chunk (rowData, packSqliteBatch).
    this.ch.host.recordMessage({ channel_id: this.ch.id, seq: msg.seq, ts: msg.timestamp, size, data: null, src: chunk, at: off });
    this.enforceLimits();
    return chunk;
  }

  /** Size of a stored message: exact for hot ones, the cold region's average otherwise. */
  private sizeOf(seq: number): number {
    if (this.hot.has(seq)) return this.hot.size(seq);
    // Cold messages exist only after a restart: their sizes are not in memory, and their
    // average keeps max_bytes within one message's worth of error (the channel's byte count
    // is an estimate until its recovered messages are all gone).
    const coldEnd = this.hot.len > 0 ? this.hot.start : this.lastSeq + 1;
    const coldCount = Math.max(1, coldEnd - this.firstSeq);
    return Math.max(0, Math.round((this.byteCount - this.hot.bytes) / coldCount));
  }

  /** Count and bytes limits: drop the oldest, always keep the newest (spec §6.1). O(dropped). */
  private enforceLimits(): void {
    // The common case (within limits) without the closure below: it was made per message.
    if (!exceedsCountLimits(this.msgCount, this.byteCount, this.ch.limits)) return;
    let newFirst = this.firstSeq;
    let count = this.msgCount;
    let bytes = this.byteCount;
    let coldSize = -1;
    const dropOne = (): void => {
      let size: number;
      if (this.hot.has(newFirst)) size = this.hot.size(newFirst);
      else {
        if (coldSize < 0) coldSize = this.sizeOf(newFirst);
        size = coldSize;
      }
      bytes -= size;
      count--;
      newFirst++;
    };
    while (exceedsCountLimits(count, bytes, this.ch.limits)) dropOne();
    if (newFirst !== this.firstSeq) this.truncate(newFirst, this.msgCount - count, this.byteCount - Math.max(0, bytes));
  }

  /** The last sequence the latest truncation event recorded (its bytes count every message up to it). */
  private truncatedThrough = 0;

  /** Removes every message below newFirst (limits): memory now, rows in the next commit. */
  truncate(newFirst: number, removedMsgs: number, removedBytes: number): void {
    this.truncatedThrough = this.lastSeq;
    this.firstSeq = newFirst;
    this.msgCount -= removedMsgs;
    this.byteCount = Math.max(0, this.byteCount - removedBytes);
    if (this.msgCount <= 0) {
      this.msgCount = 0;
      this.byteCount = 0;
    }
    this.hot.dropBelow(newFirst);
    this.cold.dropBelow(newFirst);
    this.cache.dropBelow(newFirst);
    this.ch.host.recordEvent({
      kind: EventKind.MsgsExpired,
      channelID: this.ch.id,
      firstSeq: newFirst,
      removedMsgs,
      removedBytes,
      lastSeq: this.lastSeq,
      msgCount: this.msgCount,
      byteCount: this.byteCount,
    });
    this.ch.host.recordTruncate(this.ch.id, newFirst);
  }

  /**
   * Expires messages older than max_age (the store's retention timer). Hot messages are
   * checked in memory; a cold region (recovered messages) is asked of the database, whose
   * answer (count and exact bytes of the expired prefix) arrives asynchronously.
   */
  expireOlderThan(cutoffNs: number): boolean {
    if (this.msgCount === 0) return false;
    if (!this.hot.has(this.firstSeq)) {
      this.expireCold(cutoffNs);
      return false;
    }
    const { end, bytes } = this.expiredHot(this.firstSeq, 0, cutoffNs);
    if (end === this.firstSeq) return false;
    this.truncate(end, end - this.firstSeq, bytes);
    return true;
  }

  /** The hot messages from `from` on older than the cutoff: the first one kept (or lastSeq + 1) and `bytes` plus their sizes. */
  private expiredHot(from: number, bytes: number, cutoffNs: number): { end: number; bytes: number } {
    let end = from;
    while (end <= this.lastSeq && this.hot.has(end) && isAgeExpired(this.hot.ts(end), cutoffNs)) {
      bytes += this.hot.size(end);
      end++;
    }
    return { end, bytes };
  }

  private expireCold(cutoffNs: number): void {
    if (this.coldAgeQuery || !isAgeExpired(this.coldTsFloor, cutoffNs)) return;
    this.coldAgeQuery = true;
    const first = this.firstSeq;
    const epoch = this.coldEpoch;
    const coldEnd = this.hot.len > 0 ? this.hot.start : this.lastSeq + 1;
    this.expiredColdPrefix(first, coldEnd, cutoffNs).then(
      (age) => {
        this.coldAgeQuery = false;
        if (epoch !== this.coldEpoch) return;
        // The first row's timestamp is a floor for every row at or after `first`, whatever
        // moved meanwhile; the first row kept is one only once the prefix before it is gone.
        if (age.firstTs !== undefined) this.coldTsFloor = Math.max(this.coldTsFloor, age.firstTs);
        const exp = age.expired;
        // Apply only if nothing moved meanwhile (limits may have truncated already).
        if (exp === undefined || this.firstSeq !== first) return;
        // Every cold message gone: the hot ones due at the same cutoff go in the same
        // truncation (otherwise a tick later).
        const { end, bytes } = exp.end === coldEnd ? this.expiredHot(coldEnd, exp.bytes, cutoffNs) : { end: exp.end, bytes: exp.bytes };
        // The span first..end is the count, as for limits and purge (refused messages, which
        // have no row, count until they are dropped: see refuse()).
        this.truncate(end, end - first, bytes);
        if (exp.keptTs !== undefined) this.coldTsFloor = exp.keptTs;
        this.ch.host.commitSoon();
      },
      (err: unknown) => {
        this.coldAgeQuery = false;
        this.ch.host.reportError(toError(err));
      },
    );
  }

  /**
   * The cold messages [first, coldEnd) against max_age: the first row's timestamp (when there
   * is a row) and, when it is expired, the expired prefix: where it ends (the first row kept,
   * or coldEnd when none is), the exact bytes of its rows, and the timestamp of the first row
   * kept if any. A cold region without a row (its messages were refused: gaps) is all
   * expired: it ends at coldEnd, where the hot ring takes over. The first row is read alone
   * first: unexpired, nothing after it is, and that one query is the whole tick's cost, as
   * with the `(channel_id, ts)` index. Otherwise the prefix's end is found by the timestamp
   * search (ts-search.ts: no index on `ts`), then its bytes summed through the primary key.
   */
  private async expiredColdPrefix(
    first: number,
    coldEnd: number,
    cutoffNs: number,
  ): Promise<{ firstTs?: number; expired?: { end: number; bytes: number; keptTs: number | undefined } }> {
    const head = await this.probe(first, coldEnd);
    // No row left: refused messages only. Without this the first sequence stayed on them
    // for good (no row to expire), and the newer messages never expired.
    if (head === undefined) return { expired: { end: coldEnd, bytes: 0, keptTs: undefined } };
    if (!isAgeExpired(head.ts, cutoffNs)) return { firstTs: head.ts };
    const kept = await firstStoredReaching(this.probe, head.seq + 1, coldEnd, (ts) => !isAgeExpired(ts, cutoffNs));
    const end = kept?.seq ?? coldEnd;
    return { firstTs: head.ts, expired: { end, bytes: await this.rowBytes(first, end), keptTs: kept?.ts } };
  }

  /** This channel's committed rows of sequences [from, end) (the primary key's range). */
  private rowsIn(from: number, end: number) {
    return this.ch.host.db.selectFrom('stan_messages').where('channel_id', '=', this.ch.id).where('seq', '>=', from).where('seq', '<', end);
  }

  /** The exact bytes of this channel's rows of sequences [from, end). */
  private async rowBytes(from: number, end: number): Promise<number> {
    const row = await this.rowsIn(from, end)
      .select((eb) => eb.fn.sum('size').as('b'))
      .executeTakeFirst();
    return num(row?.b as number | string | null);
  }

  /** The first committed row of this channel at or after `from` and below `end` (ts-search.ts RowProbe). */
  private readonly probe: RowProbe = async (from, end) => {
    const row = await this.rowsIn(from, end)
      .select(['seq', 'ts'])
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : { seq: num(row.seq), ts: num(row.ts) };
  };

  /**
   * Admin purge (PurgeableMsgStore). The caller committed every message below beforeSeq, so
   * the exact bytes of the removed prefix are in the database (the cold region's sizes are
   * not in memory). Counts follow the limits' rule: the span first..last is the count.
   */
  async purgeBefore(beforeSeq: number): Promise<number> {
    for (;;) {
      const first = this.firstSeq;
      const end = Math.min(beforeSeq, this.lastSeq + 1);
      if (this.msgCount === 0 || end <= first) return 0;
      const bytes = await this.rowBytes(first, end);
      // Limits or max_age may have moved the first sequence while we read: read again.
      if (this.firstSeq !== first) continue;
      const removed = end - first;
      this.truncate(end, removed, end === this.lastSeq + 1 ? this.byteCount : bytes);
      return removed;
    }
  }

  /** seq → why the database refused the message (its row alone fails): see takeRefusal. */
  private readonly refusals = new Map<number, string>();

  /**
   * The database refused this message for good: it is not stored. It leaves a gap in the
   * sequence (later messages are committed already, or will be): delivery skips it like a
   * message removed by limits. It still counts in msgCount until limits drop it (the count
   * is the span first..last); its bytes no longer count.
   */
  refuse(seq: number, reason: string): void {
    this.cache.remove(seq);
    const size = this.hot.has(seq) ? this.hot.clear(seq) : 0;
    this.byteCount = Math.max(0, this.byteCount - size);
    // A truncation recorded before the refusal was known counted its bytes (the event holds
    // absolute counts: MsgsExpiredEvent), and a restart restored them: record the counts
    // again, without them (nothing removed).
    if (size > 0 && seq >= this.firstSeq && seq <= this.truncatedThrough) {
      const { firstSeq, lastSeq, msgCount, byteCount } = this;
      // This event's counts cover every message up to lastSeq too: a later refusal in the same
      // commit must record its own correction.
      this.truncatedThrough = lastSeq;
      this.ch.host.recordBackgroundEvent({ kind: EventKind.MsgsExpired, channelID: this.ch.id, firstSeq, removedMsgs: 0, removedBytes: 0, lastSeq, msgCount, byteCount });
    }
    this.refusals.set(seq, reason);
  }

  takeRefusal(seq: number): string | undefined {
    const r = this.refusals.get(seq);
    if (r !== undefined) this.refusals.delete(seq);
    return r;
  }
  forgetRecent(): void {
    this.coldEpoch++;
    this.coldTsFloor = -Infinity;
    this.cold.clear();
    this.cache.clear();
    this.hot.dropBelow(this.lastSeq + 1);
  }

  continueAfter(lastSeq: number): void {
    if (this.lastSeq !== 0 || this.msgCount !== 0) throw new Error('internal: continueAfter on a channel that has messages');
    this.lastSeq = lastSeq;
    this.truncate(lastSeq + 1, 0, 0);
  }


  restore(first: number, last: number, count: number, bytes: number, lastTimestamp: number): void {
    this.coldEpoch++;
    this.coldTsFloor = -Infinity;
    this.firstSeq = first;
    this.lastSeq = last;
    this.msgCount = count;
    this.byteCount = bytes;
    this.lastTimestamp = lastTimestamp;
  }

  lookupCached(seq: number): StoredMsg | undefined | null {
    if (seq < this.firstSeq || seq > this.lastSeq || this.msgCount === 0) return undefined;
    return this.cache.get(seq) ?? this.cold.get(seq, this.lastSeq);
  }

  async lookup(seq: number): Promise<StoredMsg | undefined> {
    const c = this.lookupCached(seq);
    if (c !== null) return c;
    return this.cold.load(seq, this.lastSeq);
  }

  /** Committed rows from..to of this channel, opened (decrypted), in sequence order. */
  private async readRows(from: number, to: number): Promise<StoredMsg[]> {
    const { host } = this.ch;
    if (host.readPage !== undefined) {
      const out: StoredMsg[] = [];
      await host.readPage(this.ch.id, from, to, (seq, timestamp, data) => {
        out.push({ seq, timestamp, bytes: host.openRow(this.ch, seq, data) });
      });
      return out;
    }
    const rows = await this.ch.host.db
      .selectFrom('stan_messages')
      .select(['seq', 'ts', 'data'])
      .where('channel_id', '=', this.ch.id)
      .where('seq', '>=', from)
      .where('seq', '<=', to)
      .orderBy('seq')
      .execute();
    return rows.map((row) => {
      const seq = num(row.seq);
      return { seq, timestamp: num(row.ts), bytes: this.ch.host.openRow(this.ch, seq, toBuffer(row.data)) };
    });
  }

  /**
   * By binary searches (ts-search.ts: timestamps never decrease along the sequence): over the
   * hot ring in memory, and through the primary key for the cold rows (recovered at start-up)
   * only when the answer may lie among them. No index on `ts` is needed (migration 0004).
   */
  async firstSeqAtOrAfter(ts: number): Promise<number> {
    const after = this.lastSeq + 1;
    if (this.msgCount === 0) return after;
    const reached = (t: number): boolean => t >= ts;
    const coldEnd = this.hot.len > 0 ? Math.max(this.hot.start, this.firstSeq) : after;
    if (coldEnd < after) {
      let hit = firstHotReaching(this.hot, coldEnd, after, reached);
      if (hit === undefined) return after;
      // The first hot message reaches: an older cold row may too. Decided before the gaps are
      // stepped over: when that first hot message was refused (no row, but its timestamp is
      // kept), stepping first made hit > coldEnd and skipped every cold row.
      if (hit === coldEnd && coldEnd > this.firstSeq) {
        const cold = await firstStoredReaching(this.probe, this.firstSeq, coldEnd, reached);
        if (cold !== undefined) return cold.seq;
      }
      // A message the database refused is a gap (no row): start at the next one.
      while (hit < this.lastSeq && this.hot.size(hit) === 0) hit++;
      return hit;
    }
    return (await firstStoredReaching(this.probe, this.firstSeq, after, reached))?.seq ?? after;
  }
}

export class SqlSubStore implements SubStore {
  subCount = 0;
  constructor(private readonly ch: SqlChannelStore) {}

  createSub(state: SubState): void {
    const max = this.ch.limits.maxSubscriptions;
    if (max > 0 && this.subCount >= max) throw new StoreError(ERR_TOO_MANY_SUBS);
    state.ID = this.ch.host.nextSubID();
    this.subCount++;
    this.ch.host.recordEvent({ kind: EventKind.SubCreated, channelID: this.ch.id, sub: cloneSub(state) });
  }
  updateSub(state: SubState): void {
    this.ch.host.recordEvent({ kind: EventKind.SubUpdated, channelID: this.ch.id, sub: cloneSub(state) });
  }
  deleteSub(id: number): void {
    this.subCount = Math.max(0, this.subCount - 1);
    this.ch.host.recordEvent({ kind: EventKind.SubDeleted, channelID: this.ch.id, subID: id });
  }
  resetPosition(id: number, lastSent: number): void {
    this.ch.host.recordEvent({ kind: EventKind.SubPositionReset, channelID: this.ch.id, subID: id, lastSent });
  }
  addSeqPending(id: number, seq: number): void {
    this.ch.host.recordProgress(this.ch.id, id, true, seq);
  }
  ackSeqPending(id: number, seq: number): void {
    this.ch.host.recordProgress(this.ch.id, id, false, seq);
  }
  deadLetterSeq(id: number, seq: number, deliveries: number): void {
    this.ch.host.recordBackgroundEvent({ kind: EventKind.MsgDeadLettered, channelID: this.ch.id, subID: id, seq, deliveries });
  }
  addSeqRedelivered(id: number, seq: number, count: number): void {
    this.ch.host.recordBackgroundEvent({ kind: EventKind.MsgRedelivered, channelID: this.ch.id, subID: id, seq, count });
  }
}

export class SqlChannelStore implements ChannelStore {
  readonly msgs: SqlMsgStore;
  readonly subs: SqlSubStore;
  constructor(
    readonly host: ChannelHost,
    readonly id: number,
    readonly name: string,
    readonly limits: ChannelLimits,
  ) {
    this.msgs = new SqlMsgStore(this);
    this.subs = new SqlSubStore(this);
  }
}

