/**
 * The event-sourced SQL store (PostgreSQL, MySQL/MariaDB, SQLite): see
 * docs/design/event-store.md. This file is the facade; the parts live beside it:
 *   group-commit.ts   the commit loop: batches, pipelining, settling, retries, failure
 *   message-store.ts  one channel: message cache + hot ring, cold reads, limits, subscriptions
 *   batch-writer.ts   one batch → one transaction (INSERT sizing, owed deletes, fence)
 *   sealing.ts        encryption at rest of message rows (worker + inline)
 *   progress.ts       sent/acked progress coalesced into events
 *   snapshots.ts      when a snapshot is due, writing one (with compaction)
 *   recovery.ts       cluster-ID check, snapshot + replay, payload key check
 *   warm-follow.ts    following the event log while waiting for the lease (event-log-source.ts)
 *   retention.ts      the max_age timer
 *   health.ts         the /readyz database probe
 *   bulk-append.ts    the import's bulk append (BulkAppendStore) beside the commit loop
 *   commit-flights.ts pipelined transactions (up to commitDepth in flight, committed in order)
 *   pending-batch.ts, batch-splitter.ts, commit-errors.ts, retry-pause.ts: the batch, its
 *                     bisection on refusal, error classes, and the pause between retries.
 *   sql-store-options.ts the options.
 *
 * Record calls (from the server, synchronous) turn into pending rows: message rows for
 * stan_messages, event rows for stan_events, and retention deletes. `commit()` joins the next
 * group commit: one transaction writes everything pending, then the committed events are
 * folded into the projection (so the projection is always exactly the committed state, which
 * is what a snapshot must capture).
 *
 * The group commit (group-commit.ts) is the server's only batching layer.
 */
import type { StoreLimits } from '../../config/options';
import { defaultCommitDepth, type SqlStoreOptions } from './sql-store-options';
import type { ClientInfo, ServerInfo } from '../../protocol/codec';
import { EventKind, type StoreEvent } from '../events/events';
import { emptyState, evolve, type ProjectedState } from '../events/projection';
import { toRecovered } from '../events/to-recovered';
import { limitsResolver, type LimitsResolver, validateStoreLimits } from '../limits/limits';
import { BulkAppendStore, BulkMessages, ChannelStore, CommitObservable, checkChannelRoom, FencedStore, FenceStatementSource, HealthCheckedStore, ImportMarker, LogFollowingStore, LogFollowReport, RecoveredState, StoreError } from '../contract';
import { readImportMarker, writeImportMarker } from './import-marker';
import type { DialectAdapter } from './dialect';
import { dropChannel, type MsgRow, type Pending } from './pending-batch';
import { GroupCommit } from './group-commit';
import { describeOpenFailure, openRecord, RECORD_OVERHEAD, rowContext } from '../crypto';
import { SqlChannelStore, type ChannelHost } from './message-store';
import { BatchWriter, type WriteFence } from './batch-writer';
import { RowSealer } from './sealing';
import { SnapshotSchedule, writeSnapshot } from './snapshots';
import { loadCommittedState, verifyStoredPayloads } from './recovery';
import { WarmFollow } from './warm-follow';
import { RetentionTimer } from './retention';
import { DatabaseProbe } from './health';
import type { PlainRows } from './plain-reads';
import { applyBulkToChannel, bulkAppendable, foldBulkRows, writeBulkRows } from './bulk-append';
import { toError } from '../../errors';

export { SNAPSHOT_EVERY_EVENTS, SNAPSHOT_EVERY_MS } from './snapshots';
export { SEAL_INLINE_MAX_ROWS } from './sealing';
export type { SqlStoreOptions } from './sql-store-options';


/** Statement bytes besides one row's blob (SQL text, other columns), kept free below max_allowed_packet. */
const STATEMENT_SLACK_BYTES = 1024;

export class SqlStore implements FencedStore, LogFollowingStore, CommitObservable, HealthCheckedStore, BulkAppendStore, ChannelHost {
  readonly type: 'SQL' | 'FILE';
  readonly groupCommits = true as const;
  readonly limits: StoreLimits;
  onError?: (err: Error) => void;
  /** Called after each successful group commit: message rows, event rows, duration (s). */
  onCommit?: (rows: number, events: number, seconds: number) => void;
  /**
   * Set while the store cannot write until someone fixes the database (GroupCommit.failure):
   * why, and what to do. New messages and commits are refused at once meanwhile.
   */
  get failure(): string | undefined {
    return this.group.failure;
  }
  /**
   * One message row must fit in one statement: MySQL/MariaDB send blobs hex-encoded in the
   * text protocol (2 bytes per byte) and refuse statements above max_allowed_packet. A row
   * that cannot fit would fail its batch on every retry and stall the store, so such a
   * message is refused at publish instead (with a clear error to the publisher).
   */
  readonly maxMessageBytes: number | undefined;
  /** Writes one batch; the commit loop decides what a failure means. */
  readonly writer: BatchWriter;
  /** Events replayed by the last recover() (after the snapshot): tests and logs use it. */
  replayedEvents = 0;

  private readonly resolver: LimitsResolver;
  private readonly channels = new Map<string, SqlChannelStore>();
  private readonly channelsByID = new Map<number, SqlChannelStore>();
  private projection: ProjectedState = emptyState();
  /** The commit loop (group-commit.ts): pending records, batches, retries. */
  private readonly group: GroupCommit;
  private closed = false;
  private lastChannelID = 0;
  private lastSubID = 0;
  private readonly snapshots: SnapshotSchedule;
  private readonly retention: RetentionTimer;
  private readonly now: () => number;
  /** Seals message rows when encrypting (its `pool` is the worker pool, undefined otherwise). */
  readonly sealer: RowSealer;
  private readonly probe: DatabaseProbe;
  private readonly reads: PlainRows;
  /** Following the event log while waiting for the lease (LogFollowingStore), until recover(). */
  private warm: WarmFollow | undefined;
  /** A snapshot started by a bulk append (appendBulk), while it is written. */
  private bulkSnapshot: Promise<void> | undefined;
  /** BulkAppendStore: channels appended at once (the dialect's advice). */
  readonly bulkLanes: number;

  constructor(
    readonly adapter: DialectAdapter,
    private readonly opts: SqlStoreOptions,
  ) {
    validateStoreLimits(opts.limits);
    this.type = opts.type;
    this.limits = opts.limits;
    this.resolver = limitsResolver(opts.limits);
    this.now = opts.now ?? Date.now;
    this.maxMessageBytes = this.computeMaxMessageBytes();
    this.bulkLanes = adapter.dialect.bulkLanes;
    this.snapshots = new SnapshotSchedule(this.now);
    this.sealer = new RowSealer(opts.cipher, opts.sealPool);
    this.writer = new BatchWriter(adapter, this.sealer, { clusterID: opts.clusterID, bulkInsertLimit: opts.bulkInsertLimit, encrypting: this.encrypting, now: this.now });
    this.retention = new RetentionTimer(
      () => this.channels.values(),
      () => this.commit().catch((err: unknown) => this.onError?.(toError(err))),
      this.now,
    );
    // Plain reads (plain-reads.ts): neither the probe nor the recovery creates Kysely.
    this.reads = adapter.rawRows;
    this.probe = new DatabaseProbe(this.reads);
    this.group = new GroupCommit(
      {
        dialect: adapter.name,
        write: (part, gate) => this.writer.write(part, gate),
        committed: (part) => this.applyCommitted(part),
        // A channel deleted meanwhile has nobody to tell.
        refused: (row, why) => this.channelsByID.get(row.channel_id)?.msgs.refuse(row.seq, why),
        snapshotDue: () => this.snapshots.due(),
        writeSnapshot: () => this.writeSnapshot(),
        onCommit: (rows, events, seconds) => this.onCommit?.(rows, events, seconds),
        onError: (err) => this.onError?.(err),
      },
      { depth: Math.max(1, opts.commitDepth ?? defaultCommitDepth(adapter)), maxBatchRows: opts.maxBatchRows, ioSleepMicros: opts.ioSleepMicros },
    );
  }

  get channelCount(): number {
    return this.channels.size;
  }

  get db(): ChannelHost['db'] {
    return this.adapter.db;
  }

  get readPage(): ChannelHost['readPage'] {
    return this.adapter.readPage;
  }

  /** True when message rows are sealed before they are written. */
  get encrypting(): boolean {
    return this.opts.cipher?.encrypting === true;
  }

  /** FencedStore (contract.ts): the FT lease check run first in every write transaction. */
  setFence(fence: WriteFence, statement?: FenceStatementSource): void {
    // The contract's FenceTransaction is this store's Knex transaction (see FencedStore).
    this.writer.fence = fence;
    this.writer.fenceStatement = statement;
  }

  /** LogFollowingStore (contract.ts): keep the state warm until recover() takes over. */
  followLog(o: { intervalMs: number; report: LogFollowReport }): void {
    if (this.warm !== undefined || this.closed) return;
    this.warm = new WarmFollow(this.reads, this.opts.clusterID, { ...o, readSnapshot: this.adapter.readSnapshot });
    this.warm.start();
  }

  private computeMaxMessageBytes(): number | undefined {
    const limit = this.adapter.maxStatementBytes;
    if (!Number.isFinite(limit)) return undefined;
    // Statement text around the row (column list, other values) and the encryption overhead.
    return Math.max(0, Math.floor((limit - STATEMENT_SLACK_BYTES) / 2) - (this.encrypting ? RECORD_OVERHEAD : 0));
  }

  /**
   * /readyz: not ready while commits fail, or when the database does not answer a trivial
   * query in time (an idle server learns of an outage this way, before a publish fails).
   */
  checkHealth(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve('store closed');
    if (this.failure !== undefined) return Promise.resolve(`store failed: ${this.failure}`);
    if (this.group.lastError !== undefined) return Promise.resolve(`store commits failing: ${this.group.lastError}`);
    return this.probe.check();
  }

  /**
   * Starts what the store needs before serving: the sealing worker thread when encrypting
   * (a failure is a startup error). Optional: the worker is otherwise started by the first
   * batch it seals. The FILE store's write thread is started by its first large batch, not
   * here (docs/performance.md, "FILE, round 5": started here it cost the start-up CPU).
   */
  async start(): Promise<void> {
    await this.sealer.start();
  }

  /**
   * A row's `data` back as the marshalled MsgProto. A failure (wrong key, no key, altered
   * row) becomes a StoreError whose message names the channel, the message and the fix; the
   * caller logs it (delivery: "Unable to read message …"), nothing crashes.
   */
  openRow(ch: { id: number; name: string }, seq: number, data: Buffer): Buffer {
    try {
      // The context (a 16-byte buffer) only when there is a key: every cold row passes here.
      const cipher = this.opts.cipher;
      const out = openRecord(cipher, data, cipher !== undefined ? rowContext(ch.id, seq) : undefined);
      return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new StoreError(describeOpenFailure(err, ch.name, seq));
    }
  }

  // ------------------------------------------------------------ recovery

  async recover(): Promise<RecoveredState | null> {
    const warm = this.warm;
    this.warm = undefined;
    const loaded = warm !== undefined ? await warm.takeOver() : await loadCommittedState(this.reads, this.opts.clusterID, this.adapter.readSnapshot, this.adapter.rawRowsMulti);
    const state = loaded.state;
    if (state === undefined) return null;
    this.replayedEvents = loaded.replayed;
    this.projection = state;
    if (state.serverInfo === undefined) return null;
    // Opens the oldest and newest row of every channel (key check) and keeps the newest's timestamp.
    const lastTimestamps = await verifyStoredPayloads(
      this.reads,
      this.opts.cipher,
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
      channels.push({ channel: cs, subs: rc.subs, deadLettered: rc.deadLettered });
    }
    // The clean-up rule's decisions (dropped subs, offline durables, shadows) go into the log
    // too, so that the log agrees with what the server now runs with.
    for (const e of rec.cleanup) this.recordEvent(e);
    this.retention.arm();
    return { info: rec.info, clients: rec.clients, channels };
  }

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
    this.writer.needsServerRow = true;
  }

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
    checkChannelRoom(this.limits.maxChannels, this.channels.size);
    const id = ++this.lastChannelID;
    const cs = new SqlChannelStore(this, id, name, this.resolver.resolve(name));
    this.channels.set(name, cs);
    this.channelsByID.set(id, cs);
    this.recordEvent({ kind: EventKind.ChannelCreated, channelID: id, name });
    this.retention.arm();
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
    // Its rows still pending are never written (dropChannel says why); the next batch deletes
    // those written, or in a transaction before it.
    dropChannel(this.group.pending, cs.id);
  }

  readImportMarker(): Promise<ImportMarker | undefined> {
    return readImportMarker(this.adapter.knex);
  }

  writeImportMarker(marker: ImportMarker): Promise<void> {
    return writeImportMarker(this.adapter.knex, marker, this.now());
  }

  nextSubID(): number {
    return ++this.lastSubID;
  }

  recordEvent(e: StoreEvent): void {
    // Progress first: its order relative to this event is kept.
    const g = this.group;
    g.progress.flushInto(g.pending.events);
    g.pending.events.push(e);
  }

  recordBackgroundEvent(e: StoreEvent): void {
    this.group.scheduleBackground();
    this.recordEvent(e);
  }

  recordMessage(row: MsgRow): void {
    const p = this.group.pending;
    p.msgs.push(row);
    p.msgBytes += row.size;
    if (this.encrypting) this.sealer.queue(row);
  }

  /** The rows below firstSeq go in the next commit (the MsgsExpired event is recorded by the caller). */
  recordTruncate(channelID: number, firstSeq: number): void {
    this.group.pending.truncates.set(channelID, firstSeq);
  }

  recordProgress(channelID: number, subID: number, sent: boolean, seq: number): void {
    this.group.scheduleBackground();
    this.group.progress.record(channelID, subID, sent, seq);
  }

  commitSoon(): void {
    this.commit().catch(() => undefined);
  }

  reportError(err: Error): void {
    this.onError?.(err);
  }

  // ------------------------------------------------------------ group commit

  /** Joins the next group commit (group-commit.ts). */
  commit(): Promise<void> {
    return this.group.commit();
  }

  /** Folds a written part into the projection (= committed state). */
  private applyCommitted(part: Pending): void {
    for (const e of part.events) this.projection = evolve(this.projection, e);
    // One event object for all rows (evolve keeps none of it), not one per committed message.
    const e = { kind: EventKind.MsgStored as const, channelID: 0, seq: 0, timestamp: 0, size: 0 };
    for (const m of part.msgs) {
      e.channelID = m.channel_id;
      e.seq = m.seq;
      e.timestamp = m.ts;
      e.size = m.size;
      this.projection = evolve(this.projection, e);
    }
    this.snapshots.committed(part.events.length, part.msgs.length);
  }

  /** Writes a snapshot of the committed state now (also run by the commit loop when due). */
  async writeSnapshot(): Promise<void> {
    await writeSnapshot(this.adapter.knex, this.projection, this.writer.fence, this.now());
    this.snapshots.written();
  }

  // ------------------------------------------------------------ bulk append (import)

  /** BulkAppendStore (contract.ts); the work is in bulk-append.ts. */
  async appendBulk(channel: ChannelStore, rows: BulkMessages): Promise<boolean> {
    const cs = this.channels.get(channel.name);
    if (cs === undefined || cs !== channel || this.encrypting || !bulkAppendable(cs, rows, this.maxMessageBytes)) return false;
    if (rows.count === 0) return true;
    // Whatever was recorded before goes first, in its own commit.
    if (this.group.hasWork()) await this.commit();
    const started = performance.now();
    await writeBulkRows(this.adapter, this.writer.fence, cs.id, rows);
    this.projection = foldBulkRows(this.projection, cs.id, rows);
    this.snapshots.committed(0, rows.count);
    applyBulkToChannel(cs, rows);
    this.onCommit?.(rows.count, 0, (performance.now() - started) / 1000);
    // Appends of other channels may run meanwhile (the import writes two at once): one snapshot.
    if (this.snapshots.due() && this.bulkSnapshot === undefined) {
      this.bulkSnapshot = this.writeSnapshot().finally(() => (this.bulkSnapshot = undefined));
      await this.bulkSnapshot;
    }
    return true;
  }

  // ------------------------------------------------------------ close

  async close(): Promise<void> {
    if (this.closed) return;
    this.writer.closing = true;
    // No more background commits; a failed store's last attempt is made now, not after its pause.
    this.group.beginClose();
    this.retention.stop();
    await this.warm?.stop();
    try {
      await this.commit();
      // The commit loop may still be finishing (e.g. a snapshot): let it end before ours.
      await this.group.idle();
      if (this.snapshots.pending) await this.writeSnapshot();
    } catch (err) {
      this.onError?.(toError(err));
    }
    this.closed = true;
    this.group.markClosed();
    this.sealer.markClosed();
    await this.sealer.close();
    await this.adapter.close();
  }
}
