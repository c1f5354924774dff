/**
 * The event-sourced SQL store (PostgreSQL, MySQL/MariaDB, SQLite): see
 * docs/design/event-store.md.
 *
 * Record calls (from the server, synchronous) turn into pending rows: message rows for
 * stan_messages, event rows for stan_events, and retention deletes. `commit()` joins the next
 * group commit: one transaction writes everything pending, then the committed events are
 * folded into the projection (so the projection is always exactly the committed state, which
 * is what a snapshot must capture).
 */
import type { Knex } from 'knex';
import type { ChannelLimits, StoreLimits } from '../../config/options';
import type { ClientInfo, ServerInfo, SubState } from '../../protocol/codec';
import { encodeMsgProto } from '../../protocol/fast';
import { EventKind, StoreEvent } from '../events/events';
import { encodeEvent, decodeEvent } from '../events/event-codec';
import { emptyState, evolve, ProjectedState, toRecovered } from '../events/projection';
import { decodeSnapshot, encodeSnapshot } from '../events/snapshot';
import { limitsResolver, LimitsResolver, validateStoreLimits } from '../limits/limits';
import {
  ChannelStore,
  ERR_TOO_MANY_CHANNELS,
  ERR_TOO_MANY_SUBS,
  MsgStore,
  NewMsg,
  RecoveredState,
  Store,
  StoredMsg,
  StoreError,
  StoreUnavailableError,
  SubStore,
} from '../contract';
import { DialectAdapter, num, toBuffer } from './dialect';
import { isLoneMessage, newPending, requeue, splitPending, takeBatch, type MsgRow, type Pending } from './pending-batch';
import { writeSplitting } from './batch-splitter';
import { RetryPause } from './retry-pause';
import { classifyCommitError, FAILED_RETRY_MS, failedStoreReason, refusedMessageReason } from './commit-errors';
import { describeOpenFailure, EncryptionKeyError, openRecord, PayloadCipher, PayloadCipherError, RECORD_MAGIC, RECORD_OVERHEAD, rowContext } from '../crypto';
import { SealPool } from '../seal-pool';

/** Snapshot after this many events since the last one… */
export const SNAPSHOT_EVERY_EVENTS = 50_000;
/** …or after this long with at least one event (ms). */
export const SNAPSHOT_EVERY_MS = 5 * 60_000;
/** Message rows weigh this much less than events in the snapshot trigger (they replay as an aggregate). */
const MSGS_PER_EVENT = 20;
/** Retention deletes are batched: at most one range DELETE per channel per this interval (ms). */
const TRUNCATE_EVERY_MS = 1000;
/** Recent messages kept in memory per channel so live delivery never reads the database. */
const CACHE_MSGS = 4096;
const CACHE_BYTES = 8 * 1024 * 1024;
/**
 * Encrypting: batches of at most this many unsealed rows are sealed inline on the main thread
 * instead of by the worker (src/store/seal-pool.ts), whose round trip costs more than a few
 * inline seals. Measured on the 2-core machine, FILE store, stan-bench 128 B, --encrypt
 * (docs/encryption.md, "Performance"): sync publish (1 row per batch) 1.2k msgs/s through
 * the worker vs 1.35-1.5k inline (a worker round trip adds ~100-150 µs of latency under
 * load); async publish (~190 rows per batch) 37-38k with a threshold of 1, 39-42k with 4,
 * 40-42k with 16, 33-40k with 64; pub+sub best with 16 (30-32k). Noisy; 16 chosen.
 */
export const SEAL_INLINE_MAX_ROWS = 16;
/** SQLite's default SQLITE_MAX_COMPOUND_SELECT: terms of one compound SELECT (see rowsPerInsert). */
const SQLITE_MAX_COMPOUND_SELECT = 500;

export interface SqlStoreOptions {
  type: 'SQL' | 'FILE';
  clusterID: string;
  limits: StoreLimits;
  /** Max message rows per transaction (io_batch_size); 0 = unbounded. */
  maxBatchRows: number;
  /** Max rows per multi-row INSERT (sql_bulk_insert_limit); 0 = as many as the dialect allows. */
  bulkInsertLimit: number;
  /** io_sleep_time in microseconds: wait this long for a batch to fill before committing. */
  ioSleepMicros: number;
  /**
   * Encryption at rest (src/store/crypto.ts): message rows are sealed with it when it is
   * encrypting, and every row read is opened with it (plaintext rows pass). Undefined: rows
   * are written in plaintext and an encrypted row read is an error naming the fix.
   */
  cipher?: PayloadCipher;
  now?: () => number;
}

/** /readyz database probe: answer deadline, and how long a result is reused. */
const HEALTH_TIMEOUT_MS = 2000;
const HEALTH_CACHE_MS = 1000;

/** Statement bytes besides one row's blob (SQL text, other columns), kept free below max_allowed_packet. */
const STATEMENT_SLACK_BYTES = 1024;

interface EventRow {
  kind: number;
  channel_id: number | null;
  body: Buffer;
}

/** Pause between attempts while commits fail for a transient reason (database down). */
const RETRY_MS = 200;

/**
 * The bytes a row is written with. When encrypting, only a sealed record passes (checked by
 * its magic byte): a plaintext can never reach an encrypting store's table.
 */
function rowData(m: MsgRow, encrypting: boolean): Buffer {
  const d = m.data;
  if (d === null || (encrypting && d[0] !== RECORD_MAGIC)) throw new Error(`internal: message ${m.seq} of channel ${m.channel_id} is not sealed`);
  return d;
}

function cloneSub(s: SubState): SubState {
  return { ...s };
}

/** Delivery progress of one subscription within one batch, merged per kind in order. */
type ProgressOp = { sent: boolean; seqs: number[] };

/**
 * Sizes and timestamps of a channel's messages stored since start ("hot"), contiguous in
 * sequence: a growable ring indexed by seq - start, so appending and dropping the oldest are
 * O(1) (12 bytes per message). Older ("cold") messages, recovered from the database, are not
 * tracked: their sizes are estimated for max_bytes and their age asked of the database.
 */
class HotRing {
  start = 0;
  len = 0;
  /** Sum of the sizes held. */
  bytes = 0;
  private head = 0;
  private sizes = new Uint32Array(16);
  private stamps = new Float64Array(16);

  get end(): number {
    return this.start + this.len;
  }

  push(seq: number, size: number, ts: number): void {
    if (this.len === 0) {
      this.start = seq;
      this.head = 0;
    } else if (seq !== this.end) {
      // A gap (not produced by the server): restart the ring at this message.
      this.len = 0;
      this.bytes = 0;
      this.start = seq;
      this.head = 0;
    }
    if (this.len === this.sizes.length) this.grow();
    const i = (this.head + this.len) & (this.sizes.length - 1);
    this.sizes[i] = size;
    this.stamps[i] = ts;
    this.len++;
    this.bytes += size;
  }

  private grow(): void {
    const n = this.sizes.length * 2;
    const sizes = new Uint32Array(n);
    const stamps = new Float64Array(n);
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + k) & (this.sizes.length - 1);
      sizes[k] = this.sizes[i];
      stamps[k] = this.stamps[i];
    }
    this.sizes = sizes;
    this.stamps = stamps;
    this.head = 0;
  }

  has(seq: number): boolean {
    return this.len > 0 && seq >= this.start && seq < this.end;
  }
  size(seq: number): number {
    return this.sizes[(this.head + seq - this.start) & (this.sizes.length - 1)];
  }
  ts(seq: number): number {
    return this.stamps[(this.head + seq - this.start) & (this.sizes.length - 1)];
  }

  /** Sets the size of `seq` (held) to 0, returning the size it had. */
  clear(seq: number): number {
    const i = (this.head + seq - this.start) & (this.sizes.length - 1);
    const size = this.sizes[i];
    this.sizes[i] = 0;
    this.bytes -= size;
    return size;
  }

  /** Forgets every sequence below `seq`. */
  dropBelow(seq: number): void {
    if (this.len === 0 || seq <= this.start) return;
    const n = Math.min(this.len, seq - this.start);
    for (let k = 0; k < n; k++) this.bytes -= this.sizes[(this.head + k) & (this.sizes.length - 1)];
    this.head = (this.head + n) & (this.sizes.length - 1);
    this.len -= n;
    this.start += n;
    if (this.len === 0) this.start = seq;
  }
}

class SqlMsgStore implements MsgStore {
  firstSeq = 0;
  lastSeq = 0;
  msgCount = 0;
  byteCount = 0;
  lastTimestamp = 0;
  /** seq → cached stored message (most recent ones); Map keeps insertion order = seq order. */
  private readonly cache = new Map<number, StoredMsg>();
  private cacheBytes = 0;
  private readonly hot = new HotRing();
  /** A cold-age query is running (retention timer): don't start another. */
  private coldAgeQuery = false;

  constructor(private readonly ch: SqlChannelStore) {}

  store(msg: NewMsg): StoredMsg {
    const bytes = encodeMsgProto(msg.seq, msg.subject, msg.reply, msg.data, msg.timestamp);
    const stored: StoredMsg = { seq: msg.seq, timestamp: msg.timestamp, bytes };
    if (msg.seq <= this.lastSeq) return stored;
    // A store that cannot write until someone fixes the database takes no new messages:
    // their publishers learn why at once instead of after a slow retry.
    const failed = this.ch.store.failure;
    if (failed !== undefined) throw new StoreUnavailableError(`store failed: ${failed}`);
    const max = this.ch.store.maxMessageBytes;
    if (max !== undefined && bytes.length > max) {
      throw new StoreError(
        `message too large for the database: ${bytes.length} bytes stored, the database accepts at most ${max} ` +
          '(MySQL/MariaDB max_allowed_packet: raise it, or lower the NATS max_payload)',
      );
    }
    if (this.msgCount === 0) this.firstSeq = msg.seq;
    this.lastSeq = msg.seq;
    this.lastTimestamp = msg.timestamp;
    this.msgCount++;
    this.byteCount += bytes.length;
    this.cache.set(msg.seq, stored);
    this.cacheBytes += bytes.length;
    this.hot.push(msg.seq, bytes.length, msg.timestamp);
    while (this.cache.size > CACHE_MSGS || (this.cacheBytes > CACHE_BYTES && this.cache.size > 1)) {
      const first = this.cache.entries().next().value as [number, StoredMsg];
      this.cache.delete(first[0]);
      this.cacheBytes -= first[1].bytes.length;
    }
    // `size` stays the plaintext size: limits, monitoring and recovery count the message, not
    // its encryption overhead, whether encryption is on or off.
    // Encrypted rows are sealed by the store off the main thread (SqlStore.dispatchSeal).
    this.ch.store.recordMessage({ channel_id: this.ch.id, seq: msg.seq, ts: msg.timestamp, size: bytes.length, data: this.ch.store.encrypting ? null : Buffer.from(bytes), plain: bytes });
    this.enforceLimits();
    return stored;
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
    const { maxMsgs, maxBytes } = this.ch.limits;
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
    if (maxMsgs > 0) while (count > maxMsgs && count > 1) dropOne();
    if (maxBytes > 0) while (bytes > maxBytes && count > 1) dropOne();
    if (newFirst !== this.firstSeq) this.truncate(newFirst, this.msgCount - count, this.byteCount - Math.max(0, bytes));
  }

  /** Removes every message below newFirst (limits): memory now, rows in the next commit. */
  truncate(newFirst: number, removedMsgs: number, removedBytes: number): void {
    this.firstSeq = newFirst;
    this.msgCount -= removedMsgs;
    this.byteCount = Math.max(0, this.byteCount - removedBytes);
    if (this.msgCount <= 0) {
      this.msgCount = 0;
      this.byteCount = 0;
    }
    this.hot.dropBelow(newFirst);
    for (const [seq, m] of this.cache) {
      if (seq >= newFirst) break;
      this.cache.delete(seq);
      this.cacheBytes -= m.bytes.length;
    }
    this.ch.store.recordEvent({
      kind: EventKind.MsgsExpired,
      channelID: this.ch.id,
      firstSeq: newFirst,
      removedMsgs,
      removedBytes,
      lastSeq: this.lastSeq,
      msgCount: this.msgCount,
      byteCount: this.byteCount,
    });
    this.ch.store.recordTruncate(this.ch.id, newFirst);
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
    let newFirst = this.firstSeq;
    let bytes = 0;
    while (newFirst <= this.lastSeq && this.hot.has(newFirst) && this.hot.ts(newFirst) < cutoffNs) {
      bytes += this.hot.size(newFirst);
      newFirst++;
    }
    if (newFirst === this.firstSeq) return false;
    this.truncate(newFirst, newFirst - this.firstSeq, bytes);
    return true;
  }

  private expireCold(cutoffNs: number): void {
    if (this.coldAgeQuery) return;
    this.coldAgeQuery = true;
    const first = this.firstSeq;
    const coldEnd = this.hot.len > 0 ? this.hot.start : this.lastSeq + 1;
    this.ch.store.adapter.db
      .selectFrom('stan_messages')
      .select((eb) => [eb.fn.max('seq').as('m'), eb.fn.countAll().as('c'), eb.fn.sum('size').as('b')])
      .where('channel_id', '=', this.ch.id)
      .where('seq', '>=', first)
      .where('seq', '<', coldEnd)
      .where('ts', '<', cutoffNs)
      .executeTakeFirst()
      .then(
        (row) => {
          this.coldAgeQuery = false;
          const m = row ? num(row.m as number | string | null) : 0;
          // Apply only if nothing moved meanwhile (limits may have truncated already).
          if (m === 0 || this.firstSeq !== first) return;
          this.truncate(m + 1, num(row?.c as number | string), num(row?.b as number | string | null));
          this.ch.store.commit().catch(() => undefined);
        },
        (err: unknown) => {
          this.coldAgeQuery = false;
          this.ch.store.onError?.(err instanceof Error ? err : new Error(String(err)));
        },
      );
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
    const m = this.cache.get(seq);
    if (m !== undefined) {
      this.cache.delete(seq);
      this.cacheBytes -= m.bytes.length;
    }
    if (this.hot.has(seq)) this.byteCount = Math.max(0, this.byteCount - this.hot.clear(seq));
    this.refusals.set(seq, reason);
  }

  takeRefusal(seq: number): string | undefined {
    const r = this.refusals.get(seq);
    if (r !== undefined) this.refusals.delete(seq);
    return r;
  }

  restore(first: number, last: number, count: number, bytes: number, lastTimestamp: number): void {
    this.firstSeq = first;
    this.lastSeq = last;
    this.msgCount = count;
    this.byteCount = bytes;
    this.lastTimestamp = lastTimestamp;
  }

  lookupCached(seq: number): StoredMsg | undefined | null {
    if (seq < this.firstSeq || seq > this.lastSeq || this.msgCount === 0) return undefined;
    return this.cache.get(seq) ?? null;
  }

  async lookup(seq: number): Promise<StoredMsg | undefined> {
    const c = this.lookupCached(seq);
    if (c !== null) return c;
    const row = await this.ch.store.adapter.db
      .selectFrom('stan_messages')
      .select(['seq', 'ts', 'data'])
      .where('channel_id', '=', this.ch.id)
      .where('seq', '=', seq)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { seq: num(row.seq), timestamp: num(row.ts), bytes: this.ch.store.openRow(this.ch, seq, toBuffer(row.data)) };
  }

  async firstSeqAtOrAfter(ts: number): Promise<number> {
    for (const m of this.cache.values()) {
      // The cache covers the newest messages: if its oldest entry is already >= ts, the
      // answer may be older; only a hit strictly inside the cache can be answered here.
      if (m.timestamp >= ts) {
        if (m.seq === this.firstSeq) return m.seq;
        break;
      }
    }
    const row = await this.ch.store.adapter.db
      .selectFrom('stan_messages')
      .select((eb) => eb.fn.min('seq').as('seq'))
      .where('channel_id', '=', this.ch.id)
      .where('ts', '>=', ts)
      .where('seq', '>=', this.firstSeq)
      .executeTakeFirst();
    const s = row ? num(row.seq as number | string | null) : 0;
    if (s > 0) return s;
    // Not yet committed messages are only in the cache.
    for (const m of this.cache.values()) if (m.timestamp >= ts) return m.seq;
    return this.lastSeq + 1;
  }
}

class SqlSubStore implements SubStore {
  subCount = 0;
  constructor(private readonly ch: SqlChannelStore) {}

  createSub(state: SubState): void {
    const max = this.ch.limits.maxSubscriptions;
    if (max > 0 && this.subCount >= max) throw new StoreError(ERR_TOO_MANY_SUBS);
    state.ID = this.ch.store.nextSubID();
    this.subCount++;
    this.ch.store.recordEvent({ kind: EventKind.SubCreated, channelID: this.ch.id, sub: cloneSub(state) });
  }
  updateSub(state: SubState): void {
    this.ch.store.recordEvent({ kind: EventKind.SubUpdated, channelID: this.ch.id, sub: cloneSub(state) });
  }
  deleteSub(id: number): void {
    this.subCount = Math.max(0, this.subCount - 1);
    this.ch.store.recordEvent({ kind: EventKind.SubDeleted, channelID: this.ch.id, subID: id });
  }
  addSeqPending(id: number, seq: number): void {
    this.ch.store.recordProgress(this.ch.id, id, true, seq);
  }
  ackSeqPending(id: number, seq: number): void {
    this.ch.store.recordProgress(this.ch.id, id, false, seq);
  }
}

class SqlChannelStore implements ChannelStore {
  readonly msgs: SqlMsgStore;
  readonly subs: SqlSubStore;
  constructor(
    readonly store: SqlStore,
    readonly id: number,
    readonly name: string,
    readonly limits: ChannelLimits,
  ) {
    this.msgs = new SqlMsgStore(this);
    this.subs = new SqlSubStore(this);
  }
}

export class SqlStore implements Store {
  readonly type: 'SQL' | 'FILE';
  readonly limits: StoreLimits;
  onError?: (err: Error) => void;
  /**
   * Test hook, called after a batch was written: throwing from it stands for a commit that
   * landed although the caller saw an error (a connection lost while COMMIT was answered).
   */
  afterWriteForTest?: () => void;
  /** Called after each successful group commit: message rows, event rows, duration (s). */
  onCommit?: (rows: number, events: number, seconds: number) => void;
  /**
   * Set while the store cannot write until someone fixes the database (commit-errors.ts:
   * schema errors, or a refused record that may not be dropped): why, and what to do. New
   * messages and commits are refused at once meanwhile; the queued work is retried every
   * FAILED_RETRY_MS and this clears on the first commit that works.
   */
  failure: string | undefined;
  private readonly retryPause = new RetryPause();
  /**
   * Fault tolerance: runs first in every write transaction and throws unless this server
   * still holds the FT lease at its epoch (a conditional UPDATE of the lease row, whose lock
   * is then held until commit: a takeover cannot slip in between the check and the commit).
   */
  fence?: (trx: Knex.Transaction) => Promise<void>;
  private readonly resolver: LimitsResolver;
  private readonly channels = new Map<string, SqlChannelStore>();
  private readonly channelsByID = new Map<number, SqlChannelStore>();
  private projection: ProjectedState = emptyState();
  private pending: Pending = newPending();
  /** Delivery progress of the current batch, per "channelID:subID". */
  private progress = new Map<string, { channelID: number; subID: number; ops: ProgressOp[] }>();
  private committing = false;
  /** channel ID → lowest sequence still stored (limits): rows below are never written. */
  private readonly truncFloor = new Map<number, number>();
  private closed = false;
  private lastChannelID = 0;
  private lastSubID = 0;
  private eventsSinceSnapshot = 0;
  private lastSnapshotAt: number;
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** Sealing worker thread(s), when encrypting. */
  private readonly sealPool: SealPool | undefined;

  constructor(readonly adapter: DialectAdapter, private readonly opts: SqlStoreOptions) {
    // Fixed inputs (packet limit, cipher): computed once, read on every publish.
    this.maxMessageBytes = this.computeMaxMessageBytes();
    validateStoreLimits(opts.limits);
    this.type = opts.type;
    this.limits = opts.limits;
    this.resolver = limitsResolver(opts.limits);
    this.now = opts.now ?? Date.now;
    this.lastSnapshotAt = this.now();
    this.sealPool = opts.cipher?.encrypting ? new SealPool(opts.cipher) : undefined;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  // ------------------------------------------------------------ encryption at rest

  /**
   * One message row must fit in one statement: MySQL/MariaDB send blobs hex-encoded in the
   * text protocol (2 bytes per byte) and refuse statements above max_allowed_packet. A row
   * that cannot fit would fail its batch on every retry and stall the store, so such a
   * message is refused at publish instead (with a clear error to the publisher).
   */
  readonly maxMessageBytes: number | undefined;

  private computeMaxMessageBytes(): number | undefined {
    const limit = this.adapter.maxStatementBytes;
    if (!Number.isFinite(limit)) return undefined;
    // Statement text around the row (column list, other values) and the encryption overhead.
    return Math.max(0, Math.floor((limit - STATEMENT_SLACK_BYTES) / 2) - (this.encrypting ? RECORD_OVERHEAD : 0));
  }

  // ------------------------------------------------------------ health (/readyz)

  /** Message of the last failed commit, cleared by the next successful one. */
  private lastCommitError: string | undefined;
  private healthProbe: { at: number; result: Promise<string | undefined> } | undefined;

  /**
   * Not ready while commits fail, or when the database does not answer a trivial query
   * within HEALTH_TIMEOUT_MS (an idle server learns of an outage this way, before a publish
   * fails). Probe results are reused for HEALTH_CACHE_MS so frequent probes cost nothing.
   */
  checkHealth(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve('store closed');
    if (this.failure !== undefined) return Promise.resolve(`store failed: ${this.failure}`);
    if (this.lastCommitError !== undefined) return Promise.resolve(`store commits failing: ${this.lastCommitError}`);
    const now = Date.now();
    if (this.healthProbe === undefined || now - this.healthProbe.at >= HEALTH_CACHE_MS) {
      this.healthProbe = { at: now, result: this.probeDatabase() };
    }
    return this.healthProbe.result;
  }

  private async probeDatabase(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`store unreachable: no answer within ${HEALTH_TIMEOUT_MS} ms`), HEALTH_TIMEOUT_MS);
    });
    const query = this.adapter.db
      .selectFrom('stan_server')
      .select('id')
      .limit(1)
      .execute()
      .then(
        () => undefined,
        (err: unknown) => `store unreachable: ${err instanceof Error ? err.message : String(err)}`,
      );
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True when message rows are sealed before they are written. */
  get encrypting(): boolean {
    return this.opts.cipher?.encrypting === true;
  }

  /**
   * Starts what the store needs before serving: the sealing worker thread when encrypting
   * (a failure is a startup error). Optional: the worker is otherwise started by the first
   * batch it seals.
   */
  async start(): Promise<void> {
    await this.sealPool?.start();
  }

  /**
   * Encrypting: rows recorded during this event-loop turn, handed to the sealing worker at
   * its end (dispatchSeal), so that they are sealed while the main thread goes on (parsing
   * the next publishes, writing the previous batch) and are usually sealed by the time their
   * batch is written.
   */
  private toSeal: MsgRow[] = [];
  private sealScheduled = false;

  private queueSeal(row: MsgRow): void {
    this.toSeal.push(row);
    if (this.sealScheduled) return;
    this.sealScheduled = true;
    setImmediate(() => {
      this.sealScheduled = false;
      const rows = this.toSeal;
      this.toSeal = [];
      // A few rows (e.g. a sync publisher's one) are cheaper to seal inline at commit time.
      if (rows.length > SEAL_INLINE_MAX_ROWS && !this.closed) this.dispatchSeal(rows.filter((r) => r.data === null && r.sealing === undefined));
    });
  }

  /**
   * Sends rows to the sealing worker; the promise (also set on each row as `sealing`) settles
   * when their `data` is set, or rejects, leaving them unsealed for the next attempt.
   */
  private dispatchSeal(rows: MsgRow[]): Promise<void> {
    const pool = this.sealPool;
    if (pool === undefined || rows.length === 0) return Promise.resolve();
    const p = pool.seal(rows.map((r) => ({ channelID: r.channel_id, seq: r.seq, plain: r.plain }))).then(
      (sealed) => {
        for (let i = 0; i < rows.length; i++) {
          rows[i].data = sealed[i];
          rows[i].sealing = undefined;
        }
      },
      (err: unknown) => {
        for (const r of rows) r.sealing = undefined;
        throw err;
      },
    );
    // Handled when the rows' batch awaits it (sealRows); a row dropped by limits never is.
    p.catch(() => undefined);
    for (const r of rows) r.sealing = p;
    return p;
  }

  /**
   * Makes sure every row of a batch is sealed before it is written: waits for the rows the
   * worker is sealing, seals the others (inline when they are few, else by the worker). Any
   * failure (worker died, errored) rejects: the batch fails like a failed commit, its rows
   * stay unsealed and are sealed again when it is retried. Never writes plaintext: rowData
   * refuses an unsealed row.
   */
  private async sealRows(rows: MsgRow[]): Promise<void> {
    const cipher = this.opts.cipher;
    const waits = new Set<Promise<void>>();
    let todo: MsgRow[] | undefined;
    for (const r of rows) {
      if (r.data !== null) continue;
      if (r.sealing !== undefined) waits.add(r.sealing);
      else (todo ??= []).push(r);
    }
    if (todo !== undefined) {
      if (cipher === undefined || !cipher.encrypting) throw new Error('internal: a message row awaits sealing but no cipher encrypts');
      if (this.sealPool === undefined || todo.length <= SEAL_INLINE_MAX_ROWS) {
        for (const r of todo) r.data = cipher.seal(r.plain, rowContext(r.channel_id, r.seq));
      } else {
        waits.add(this.dispatchSeal(todo));
      }
    }
    if (waits.size > 0) await Promise.all(waits);
  }

  /**
   * A row's `data` back as the marshalled MsgProto. A failure (wrong key, no key, altered
   * row) becomes a StoreError whose message names the channel, the message and the fix; the
   * caller logs it (delivery: "Unable to read message …"), nothing crashes.
   */
  openRow(ch: { id: number; name: string }, seq: number, data: Buffer): Buffer {
    try {
      const out = openRecord(this.opts.cipher, data, rowContext(ch.id, seq));
      return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new StoreError(describeOpenFailure(err, ch.name, seq));
    }
  }

  /**
   * Startup check that the configured key (or its absence) fits the stored messages: the
   * oldest and newest row of every channel are opened. Refusing to start with a clear reason
   * beats serving and failing each delivery of an old message later.
   */
  private async verifyStoredPayloads(channels: Array<{ id: number; name: string; first: number; last: number }>): Promise<Map<number, number>> {
    const db = this.adapter.db;
    const PARALLEL = 4;
    /** channel id → timestamp of its newest row (read here anyway): recovery restores it. */
    const lastTimestamps = new Map<number, number>();
    for (let i = 0; i < channels.length; i += PARALLEL) {
      await Promise.all(
        channels.slice(i, i + PARALLEL).map(async (ch) => {
          const rows = await db
            .selectFrom('stan_messages')
            .select(['seq', 'ts', 'data'])
            .where('channel_id', '=', ch.id)
            .where('seq', 'in', ch.first === ch.last ? [ch.first] : [ch.first, ch.last])
            .execute();
          for (const r of rows) {
            const seq = num(r.seq);
            if (seq === ch.last) lastTimestamps.set(ch.id, num(r.ts));
            try {
              openRecord(this.opts.cipher, toBuffer(r.data), rowContext(ch.id, seq));
            } catch (err) {
              if (err instanceof PayloadCipherError) throw new EncryptionKeyError(describeOpenFailure(err, ch.name, seq));
              throw err;
            }
          }
        }),
      );
    }
    return lastTimestamps;
  }

  // ------------------------------------------------------------ recovery

  async recover(): Promise<RecoveredState | null> {
    const db = this.adapter.db;
    const server = await db.selectFrom('stan_server').select(['cluster_id']).where('id', '=', 1).executeTakeFirst();
    if (server === undefined) return null;
    if (server.cluster_id !== this.opts.clusterID) {
      throw new StoreError(
        `this database belongs to the STAN cluster "${server.cluster_id}", not "${this.opts.clusterID}": ` +
          `use -cid ${server.cluster_id}, or another database for this cluster`,
      );
    }
    const snap = await db
      .selectFrom('stan_snapshots')
      .select(['last_event_id', 'body'])
      .orderBy('snapshot_id', 'desc')
      .limit(1)
      .executeTakeFirst();
    let state = snap ? decodeSnapshot(toBuffer(snap.body)) : emptyState();
    let lastEventID = snap ? num(snap.last_event_id) : 0;
    // Replay the events after the snapshot, in pages so memory stays bounded.
    const PAGE = 10_000;
    let replayed = 0;
    for (;;) {
      const rows = await db
        .selectFrom('stan_events')
        .select(['event_id', 'kind', 'body'])
        .where('event_id', '>', lastEventID)
        .orderBy('event_id')
        .limit(PAGE)
        .execute();
      for (const r of rows) {
        state = evolve(state, decodeEvent(num(r.kind) as EventKind, toBuffer(r.body)));
        lastEventID = num(r.event_id);
      }
      replayed += rows.length;
      if (rows.length < PAGE) break;
    }
    state.lastEventID = lastEventID;
    this.replayedEvents = replayed;
    // Message rows above each channel's projected last sequence: one aggregate per channel
    // (count, bytes, first/last), computed by the database — neither the payloads nor the
    // rows themselves are loaded (1,000,000 messages recover in well under a second).
    for (const ch of state.channels.values()) {
      const agg = await db
        .selectFrom('stan_messages')
        .select((eb) => [eb.fn.min('seq').as('lo'), eb.fn.max('seq').as('hi'), eb.fn.countAll().as('n'), eb.fn.sum('size').as('b')])
        .where('channel_id', '=', ch.id)
        .where('seq', '>', ch.lastSeq)
        .executeTakeFirst();
      const n = agg ? num(agg.n as number | string) : 0;
      if (n === 0 || agg === undefined) continue;
      // Same result as folding a MsgStored event per row (rows are contiguous above lastSeq).
      if (ch.msgCount === 0) ch.firstSeq = num(agg.lo as number | string);
      ch.lastSeq = num(agg.hi as number | string);
      ch.msgCount += n;
      ch.byteCount += num(agg.b as number | string | null);
    }
    this.projection = state;
    if (state.serverInfo === undefined) return null;
    // Opens the oldest and newest row of every channel (key check) and keeps the newest's timestamp.
    const lastTimestamps = await this.verifyStoredPayloads(
      [...state.channels.values()].filter((c) => c.msgCount > 0).map((c) => ({ id: c.id, name: c.name, first: c.firstSeq, last: c.lastSeq })),
    );
    const rec = toRecovered(state);
    this.lastChannelID = state.nextChannelID - 1;
    this.lastSubID = state.nextSubID - 1;
    const channels = [];
    for (const rc of rec.channels) {
      const cs = new SqlChannelStore(this, rc.channelID, rc.name, this.resolver.resolve(rc.name));
      cs.msgs.restore(rc.firstSeq, rc.lastSeq, rc.msgCount, rc.byteCount, lastTimestamps.get(rc.channelID) ?? 0);
      cs.subs.subCount = rc.subs.length;
      this.channels.set(rc.name, cs);
      this.channelsByID.set(rc.channelID, cs);
      channels.push({ channel: cs, subs: rc.subs });
    }
    // The clean-up rule's decisions (dropped subs, offline durables, shadows) go into the log
    // too, so that the log agrees with what the server now runs with.
    for (const e of rec.cleanup) this.recordEvent(e);
    this.armRetention();
    return { info: rec.info, clients: rec.clients, channels };
  }

  /** Events replayed by the last recover() (after the snapshot): tests and logs use it. */
  replayedEvents = 0;

  // ------------------------------------------------------------ records

  init(info: ServerInfo): void {
    this.recordEvent({
      kind: EventKind.ServerInit,
      clusterID: info.ClusterID,
      discovery: info.Discovery,
      publish: info.Publish,
      subscribe: info.Subscribe,
      unsubscribe: info.Unsubscribe,
      close: info.Close,
      subClose: info.SubClose,
      acksSubs: info.AcksSubs,
    });
    this.needsServerRow = true;
  }
  private needsServerRow = false;

  addClient(info: ClientInfo): void {
    this.recordEvent({
      kind: EventKind.ClientConnected,
      clientID: info.ID,
      hbInbox: info.HbInbox,
      connID: info.ConnID,
      protocol: info.Protocol,
      pingInterval: info.PingInterval,
      pingMaxOut: info.PingMaxOut,
    });
  }

  deleteClient(id: string): void {
    this.recordEvent({ kind: EventKind.ClientClosed, clientID: id });
  }

  createChannel(name: string): ChannelStore {
    if (this.channels.has(name)) throw new StoreError('already exists');
    const max = this.limits.maxChannels;
    if (max > 0 && this.channels.size >= max) throw new StoreError(ERR_TOO_MANY_CHANNELS);
    const id = ++this.lastChannelID;
    const cs = new SqlChannelStore(this, id, name, this.resolver.resolve(name));
    this.channels.set(name, cs);
    this.channelsByID.set(id, cs);
    this.recordEvent({ kind: EventKind.ChannelCreated, channelID: id, name });
    this.armRetention();
    return cs;
  }

  lookupChannel(name: string): ChannelStore | undefined {
    return this.channels.get(name);
  }

  deleteChannel(name: string): void {
    const cs = this.channels.get(name);
    if (cs === undefined) return;
    this.channels.delete(name);
    this.channelsByID.delete(cs.id);
    this.recordEvent({ kind: EventKind.ChannelDeleted, channelID: cs.id });
    this.pending.dropChannels.push(cs.id);
  }

  nextSubID(): number {
    return ++this.lastSubID;
  }

  recordEvent(e: StoreEvent): void {
    this.flushProgress();
    this.pending.events.push(e);
  }

  recordMessage(row: MsgRow): void {
    this.pending.msgs.push(row);
    this.pending.msgBytes += row.size;
    if (row.data === null && this.sealPool !== undefined) this.queueSeal(row);
  }

  /** The rows below firstSeq go in the next commit (the MsgsExpired event is recorded by the caller). */
  recordTruncate(channelID: number, firstSeq: number): void {
    this.pending.truncates.set(channelID, firstSeq);
  }

  /**
   * Acks and deliveries are recorded without anyone awaiting a commit: make sure they are
   * written soon even when no publish or request follows (at most ~50 ms later), so a crash
   * does not redeliver messages that were acknowledged long ago.
   */
  private scheduleBackgroundCommit(): void {
    if (this.committing || this.bgCommitTimer !== undefined || this.closing) return;
    this.bgCommitTimer = setTimeout(() => {
      this.bgCommitTimer = undefined;
      if (!this.committing && !this.closing) this.startCommit();
    }, 50);
  }
  private bgCommitTimer: NodeJS.Timeout | undefined;

  recordProgress(channelID: number, subID: number, sent: boolean, seq: number): void {
    this.scheduleBackgroundCommit();
    const key = `${channelID}:${subID}`;
    let p = this.progress.get(key);
    if (p === undefined) {
      p = { channelID, subID, ops: [] };
      this.progress.set(key, p);
    }
    const last = p.ops[p.ops.length - 1];
    if (last !== undefined && last.sent === sent) last.seqs.push(seq);
    else p.ops.push({ sent, seqs: [seq] });
  }

  /**
   * Turns batched delivery progress into events. Called before any other event is recorded
   * so that ordering between progress and, e.g., a SubDeleted is kept.
   */
  private flushProgress(): void {
    if (this.progress.size === 0) return;
    for (const p of this.progress.values()) {
      for (const op of p.ops) {
        this.pending.events.push(
          op.sent
            ? { kind: EventKind.MsgsSent, channelID: p.channelID, subID: p.subID, seqs: op.seqs }
            : { kind: EventKind.MsgsAcked, channelID: p.channelID, subID: p.subID, seqs: op.seqs },
        );
      }
    }
    this.progress.clear();
  }

  // ------------------------------------------------------------ group commit

  commit(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('store closed'));
    // Failed: what was recorded stays queued for the next attempt, but nobody waits for it.
    if (this.failure !== undefined && !this.closing) return Promise.reject(new StoreUnavailableError(`store failed: ${this.failure}`));
    return new Promise((resolve, reject) => {
      this.pending.waiters.push({ resolve, reject });
      if (!this.committing) this.startCommit();
    });
  }

  private startCommit(): void {
    this.committing = true;
    // Let the current event-loop turn finish recording: everything it adds joins this batch
    // (optionally wait io_sleep_time for more).
    if (this.opts.ioSleepMicros > 0) setTimeout(() => void this.commitLoop(), this.opts.ioSleepMicros / 1000);
    else setImmediate(() => void this.commitLoop());
  }

  private async commitLoop(): Promise<void> {
    try {
      while (this.pending.waiters.length > 0 || this.pending.msgs.length > 0 || this.pending.events.length > 0 || this.progress.size > 0) {
        this.flushProgress();
        const { batch, rest } = takeBatch(this.pending, this.opts.maxBatchRows);
        this.pending = rest;
        const started = performance.now();
        const result = await writeSplitting(batch, {
          write: async (part) => {
            await this.writeBatch(part);
            this.afterWriteForTest?.();
          },
          classify: (err) => classifyCommitError(this.adapter.name, err),
          split: splitPending,
          refusable: isLoneMessage,
        });
        for (const part of result.written) this.applyCommitted(part);
        for (const { part, error } of result.refused) this.refuseMessage(part.msgs[0], error);
        const stopped = result.stopped;
        if (stopped !== undefined) {
          const e = stopped.error instanceof Error ? stopped.error : new Error(String(stopped.error));
          this.lastCommitError = e.message;
          // Keep the rows: the in-memory state already contains them, so they are written by
          // the next successful commit (at-least-once for the publishers that got an error).
          for (let i = stopped.unwritten.length - 1; i >= 0; i--) requeue(stopped.unwritten[i], this.pending);
          if (stopped.kind !== 'transient') this.failure = failedStoreReason(stopped.kind, e);
          const err = this.failure !== undefined ? new StoreUnavailableError(`store failed: ${this.failure}`) : e;
          for (const w of batch.waiters) w.reject(err);
          this.onError?.(err);
          // A closed store stops retrying (its connections are gone).
          if (this.closed) break;
          // A failed store waits for someone to fix the database: retrying fast only
          // floods it. Its new commits are answered at once meanwhile (see commit()).
          await this.retryPause.wait(this.failure !== undefined ? FAILED_RETRY_MS : RETRY_MS);
          if (this.closed) break;
          continue;
        }
        this.lastCommitError = undefined;
        this.failure = undefined;
        this.onCommit?.(batch.msgs.length - result.refused.length, batch.events.length, (performance.now() - started) / 1000);
        for (const w of batch.waiters) w.resolve();
        if (this.snapshotDue()) await this.writeSnapshot().catch((err: unknown) => this.onError?.(err instanceof Error ? err : new Error(String(err))));
      }
    } finally {
      this.committing = false;
    }
  }

  /** Folds a written part into the projection (= committed state). */
  private applyCommitted(part: Pending): void {
    for (const e of part.events) this.projection = evolve(this.projection, e);
    for (const m of part.msgs) {
      this.projection = evolve(this.projection, { kind: EventKind.MsgStored, channelID: m.channel_id, seq: m.seq, timestamp: m.ts, size: m.size });
    }
    // Message rows count too: they are replayed (as an aggregate) after the snapshot.
    this.eventsSinceSnapshot += part.events.length + part.msgs.length / MSGS_PER_EVENT;
  }

  /**
   * A message row the database refuses alone: not stored; its publisher gets the reason
   * (and the publish pipeline logs it). A channel deleted meanwhile has nobody to tell.
   */
  private refuseMessage(row: MsgRow, err: unknown): void {
    this.channelsByID.get(row.channel_id)?.msgs.refuse(row.seq, refusedMessageReason(err));
  }

  /**
   * Rows per multi-row INSERT: the dialect's bind-parameter limit, and on SQLite also its
   * SQLITE_MAX_COMPOUND_SELECT (500): Knex writes a multi-row INSERT there as
   * `INSERT … SELECT … UNION ALL SELECT …`, one compound term per row, and a batch of more
   * than 500 rows failed with "too many terms in compound SELECT" — and, being requeued
   * whole, failed again on every retry, stalling the store for good.
   */
  private rowsPerInsert(columns: number): number {
    const n = this.adapter.maxRowsPerInsert(columns);
    return this.adapter.name === 'sqlite' ? Math.min(n, SQLITE_MAX_COMPOUND_SELECT) : n;
  }

  /** `INSERT INTO stan_messages … VALUES (?,?,?,?,?),…` per row count: built once, reused. */
  private readonly insertSql = new Map<number, string>();

  /**
   * `skipExisting`: a retried batch may already be stored (see Pending.retry): rows whose key
   * exists are skipped instead of failing the batch again, forever. Only retries pay for it.
   */
  private messageInsert(n: number, skipExisting = false): string {
    const key = skipExisting ? -n : n;
    let sql = this.insertSql.get(key);
    if (sql === undefined) {
      sql = `insert into stan_messages (channel_id, seq, ts, size, data) values ${new Array<string>(n).fill('(?, ?, ?, ?, ?)').join(', ')}`;
      if (skipExisting) sql += this.adapter.name === 'mysql' ? ' on duplicate key update seq = seq' : ' on conflict (channel_id, seq) do nothing';
      if (this.insertSql.size > 256) this.insertSql.clear();
      this.insertSql.set(key, sql);
    }
    return sql;
  }

  /** Splits rows into multi-row INSERTs: [sql, flat bindings] each. */
  private messageInserts(rows: MsgRow[], skipExisting = false): Array<[string, Array<number | Buffer>]> {
    const perInsert = Math.min(this.rowsPerInsert(5), this.opts.bulkInsertLimit > 0 ? this.opts.bulkInsertLimit : Infinity);
    const out: Array<[string, Array<number | Buffer>]> = [];
    let i = 0;
    while (i < rows.length) {
      // Bounded by bind parameters (or --sql_bulk_insert_limit) and by statement size
      // (max_allowed_packet: blobs travel hex-encoded in MySQL's text protocol).
      let bytes = 0;
      let j = i;
      while (j < rows.length && j - i < perInsert) {
        const cost = rowData(rows[j], this.encrypting).length * 2 + 64;
        if (j > i && bytes + cost >= this.adapter.maxStatementBytes) break;
        bytes += cost;
        j++;
      }
      const flat: Array<number | Buffer> = new Array(5 * (j - i));
      let k = 0;
      for (let r = i; r < j; r++) {
        const m = rows[r];
        flat[k++] = m.channel_id;
        flat[k++] = m.seq;
        flat[k++] = m.ts;
        flat[k++] = m.size;
        flat[k++] = rowData(m, this.encrypting);
      }
      out.push([this.messageInsert(j - i, skipExisting), flat]);
      i = j;
    }
    return out;
  }

  /** Range deletes owed by limits, channel → first sequence kept; applied at most once a second. */
  private readonly deletesDue = new Map<number, number>();
  private lastDeletesAt = 0;

  private async writeBatch(b: Pending): Promise<void> {
    const knex = this.adapter.knex;
    const eventRows: EventRow[] = b.events.map((e) => ({
      kind: e.kind,
      channel_id: 'channelID' in e ? e.channelID : null,
      body: Buffer.from(encodeEvent(e)),
    }));
    for (const [channelID, firstSeq] of b.truncates) {
      if ((this.truncFloor.get(channelID) ?? 0) < firstSeq) this.truncFloor.set(channelID, firstSeq);
      if ((this.deletesDue.get(channelID) ?? 0) < firstSeq) this.deletesDue.set(channelID, firstSeq);
    }
    // Rows already dropped by limits before they were written are simply not written.
    const rows = this.truncFloor.size === 0 ? b.msgs : b.msgs.filter((m) => m.seq >= (this.truncFloor.get(m.channel_id) ?? 0));
    await this.sealRows(rows);
    const inserts = this.messageInserts(rows, b.retry);
    // Rows below a channel's first sequence are invisible (every read starts at firstSeq), so
    // their deletion can wait: one range DELETE per channel per second instead of one per
    // commit keeps steady publishing under limits cheap (fewer dead tuples on PostgreSQL).
    const now = this.now();
    // A part isolating refused rows carries none: only its own rows can be refused then.
    const deletes = !b.isolating && this.deletesDue.size > 0 && (now - this.lastDeletesAt >= TRUNCATE_EVERY_MS || this.closing) ? new Map(this.deletesDue) : undefined;

    if (
      this.fence === undefined &&
      !this.needsServerRow &&
      eventRows.length === 0 &&
      deletes === undefined &&
      b.dropChannels.length === 0 &&
      inserts.length === 1
    ) {
      // A lone INSERT (e.g. a sync publisher): autocommit, one round trip instead of three.
      await knex.raw(inserts[0][0], inserts[0][1]);
      return;
    }
    await knex.transaction(async (trx) => {
      await this.fence?.(trx);
      if (this.needsServerRow) {
        // Ignored when present: a retried first commit may have landed (see Pending.retry).
        await trx('stan_server').insert({ id: 1, cluster_id: this.opts.clusterID, created_at: this.now() }).onConflict('id').ignore();
      }
      for (const [sql, flat] of inserts) await trx.raw(sql, flat);
      const evChunk = this.rowsPerInsert(3);
      for (let k = 0; k < eventRows.length; k += evChunk) {
        await trx('stan_events').insert(eventRows.slice(k, k + evChunk));
      }
      if (deletes) {
        for (const [channelID, firstSeq] of deletes) {
          await trx('stan_messages').where('channel_id', channelID).andWhere('seq', '<', firstSeq).del();
        }
      }
      for (const channelID of b.dropChannels) {
        await trx('stan_messages').where('channel_id', channelID).del();
      }
    });
    if (deletes) {
      this.lastDeletesAt = now;
      for (const [channelID, firstSeq] of deletes) if (this.deletesDue.get(channelID) === firstSeq) this.deletesDue.delete(channelID);
    }
    for (const channelID of b.dropChannels) {
      this.truncFloor.delete(channelID);
      this.deletesDue.delete(channelID);
    }
    this.needsServerRow = false;
  }

  // ------------------------------------------------------------ snapshots

  private snapshotDue(): boolean {
    if (this.eventsSinceSnapshot >= SNAPSHOT_EVERY_EVENTS) return true;
    return this.eventsSinceSnapshot > 0 && this.now() - this.lastSnapshotAt >= SNAPSHOT_EVERY_MS;
  }

  /**
   * Writes the projection (= committed state) and compacts: the events it covers and older
   * snapshots are deleted in the same transaction. Runs inside the commit loop, so no batch
   * is in flight.
   */
  async writeSnapshot(): Promise<void> {
    const knex = this.adapter.knex;
    await knex.transaction(async (trx) => {
      await this.fence?.(trx);
      const row = await trx('stan_events').max({ m: 'event_id' }).first();
      const lastEventID = num((row as { m?: number | string | null } | undefined)?.m ?? 0);
      if (lastEventID === 0 && this.projection.serverInfo === undefined) return;
      this.projection.lastEventID = Math.max(lastEventID, this.projection.lastEventID);
      const body = Buffer.from(encodeSnapshot(this.projection));
      await trx('stan_snapshots').insert({ last_event_id: this.projection.lastEventID, created_at: this.now(), body });
      await trx('stan_events').where('event_id', '<=', this.projection.lastEventID).del();
      const newest = await trx('stan_snapshots').max({ m: 'snapshot_id' }).first();
      const newestID = num((newest as { m?: number | string | null } | undefined)?.m ?? 0);
      await trx('stan_snapshots').where('snapshot_id', '<', newestID).del();
    });
    this.eventsSinceSnapshot = 0;
    this.lastSnapshotAt = this.now();
  }

  // ------------------------------------------------------------ retention (max_age)

  private armRetention(): void {
    if (this.retentionTimer !== undefined || this.closed) return;
    let anyAge = false;
    for (const c of this.channels.values()) if (c.limits.maxAge > 0) anyAge = true;
    if (!anyAge) return;
    this.retentionTimer = setInterval(() => this.expireByAge(), 1000);
    this.retentionTimer.unref();
  }

  private expireByAge(): void {
    const nowNs = this.now() * 1e6;
    let any = false;
    for (const c of this.channels.values()) {
      const maxAge = c.limits.maxAge;
      if (maxAge <= 0) continue;
      if (c.msgs.expireOlderThan(nowNs - maxAge * 1e6)) any = true;
    }
    if (any) this.commit().catch((err: unknown) => this.onError?.(err instanceof Error ? err : new Error(String(err))));
  }

  // ------------------------------------------------------------ close

  /** Set at the start of close(): the last commit applies every owed delete. */
  private closing = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    // A failed store's last attempt is made now, not after its slow pause.
    this.retryPause.wake();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.bgCommitTimer) clearTimeout(this.bgCommitTimer);
    try {
      await this.commit();
      // The commit loop may still be finishing (e.g. a snapshot): let it end before ours.
      while (this.committing) await new Promise((r) => setTimeout(r, 5));
      if (this.eventsSinceSnapshot > 0) await this.writeSnapshot();
    } catch (err) {
      this.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
    this.closed = true;
    this.retryPause.wake();
    await this.sealPool?.close();
    await this.adapter.close();
  }
}
