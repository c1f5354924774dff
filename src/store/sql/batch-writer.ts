/**
 * Writes one batch (src/store/sql/pending-batch.ts) in one transaction: the message rows the
 * dialect's fastest way (Dialect.writeMessageRows: PostgreSQL COPY, MySQL prepared INSERTs;
 * otherwise, and for a retried batch, multi-row INSERTs sized to the dialect's limits), the
 * event rows, the range deletes owed by
 * limits (at most once a second per channel) and the rows of deleted channels. It knows
 * nothing of retries or waiters: the commit loop (sql-store.ts) decides what to do when a
 * write fails.
 */
import type { Knex } from 'knex';
import { encodeEvent } from '../events/event-codec';
import type { DialectAdapter, EventRowValues } from './dialect';
import { DIRECT_EVENT_MAX_ROWS } from './dialect/event-insert';
import type { MsgRow, Pending } from './pending-batch';
import { rowData, type RowSealer } from './sealing';
import { packSqliteBatch, type FenceStatement } from './sqlite-batch';
import type { FenceText } from '../contract';
import type { SqliteWriteResult, SqliteWriteThread } from './sqlite-writer';
import { InlineSqliteWriter, SQLITE_INLINE_MAX_ROWS } from './sqlite-inline';
import type { SqliteConnectionSource } from './sqlite-connection';
import { writeDirect } from './direct-tx';

/** Retention deletes are batched: at most one range DELETE per channel per this interval (ms). */
const TRUNCATE_EVERY_MS = 1000;

type EventRow = EventRowValues;

/** A batch's message rows: `run(undefined)` autocommits them (only when `alone`: one atomic statement). */
interface RowWrite {
  readonly alone: boolean;
  /** The rows' data columns when written the dialect's fast way (writeMessageRows). */
  readonly data?: readonly Buffer[];
  run(trx: Knex.Transaction | undefined): Promise<void>;
}

/** A check run first in every write transaction (FT: the lease fence); throws to refuse the write. */
export type WriteFence = (trx: Knex.Transaction) => Promise<void>;
/** The same fence as SQL text, for a write thread and direct transactions (contract.ts FenceStatementSource). */
export interface WriteFenceStatement {
  statement(): FenceText;
  /** The error a write fails with when the statement changed no row. */
  lost(): Error;
}

/**
 * How a pipelined transaction (commit-flights.ts) waits for the one before it: `ready()` is
 * called once every row of the batch is written (the next batch may start writing then:
 * its event IDs come after ours), `mayCommit()` resolves when the earlier transaction
 * committed and rejects when it failed (the transaction is then rolled back, not committed).
 */
export interface CommitGate {
  /** No earlier transaction is in flight. */
  readonly first: boolean;
  ready(): void;
  mayCommit(): Promise<void>;
  /**
   * The earlier transaction's first attempt as known now: still in flight, committed (or
   * there is none), or failed (`mayCommit()` then rejects).
   */
  earlier(): 'pending' | 'ok' | 'failed';
}

export interface BatchWriterOptions {
  clusterID: string;
  /** Max rows per multi-row INSERT (sql_bulk_insert_limit); 0 = as many as the dialect allows. */
  bulkInsertLimit: number;
  encrypting: boolean;
  now: () => number;
}

export class BatchWriter {
  /** See Store fencing (contract.ts, FencedStore). */
  fence: WriteFence | undefined;
  /**
   * The fence as SQL text (FT): FILE's write thread runs it in its transaction, PostgreSQL and
   * MySQL/MariaDB group commits in their direct transactions (direct-tx.ts). Without it fenced
   * writes go through `fence` in a Knex transaction.
   */
  fenceStatement: WriteFenceStatement | undefined;
  /** The stan_server row is written with the next batch (after ServerInit). */
  needsServerRow = false;
  /** Set by close(): the last batch applies every owed delete. */
  closing = false;
  /** channel ID → lowest sequence still stored (limits): rows below are never written. */
  private readonly truncFloor = new Map<number, number>();
  /** Range deletes owed by limits, channel → first sequence kept; applied at most once a second. */
  private readonly deletesDue = new Map<number, number>();
  private lastDeletesAt = 0;
  /** `INSERT INTO stan_messages … VALUES (?,?,?,?,?),…` per row count: built once, reused. */
  private readonly insertSql = new Map<number, string>();
  /** Small batches of a store with a write thread (sqlite-inline.ts). */
  private inline: InlineSqliteWriter | undefined;

  constructor(
    private readonly adapter: DialectAdapter,
    private readonly sealer: RowSealer,
    private readonly opts: BatchWriterOptions,
  ) {}

  /**
   * Writes `b`; resolves once it is durable. A rejection leaves the database as before (the
   * transaction rolled back) unless the commit's answer was lost (see Pending.retry).
   */
  async write(b: Pending, pipelined?: CommitGate): Promise<void> {
    let gate = pipelined;
    for (const [channelID, firstSeq] of b.truncates) {
      if ((this.truncFloor.get(channelID) ?? 0) < firstSeq) this.truncFloor.set(channelID, firstSeq);
      if ((this.deletesDue.get(channelID) ?? 0) < firstSeq) this.deletesDue.set(channelID, firstSeq);
    }
    // Rows already dropped by limits before they were written are simply not written.
    const rows = this.truncFloor.size === 0 ? b.msgs : b.msgs.filter((m) => m.seq >= (this.truncFloor.get(m.channel_id) ?? 0));
    // Rows of a store that does not encrypt are written as they are (rowData).
    if (this.opts.encrypting) await this.sealer.sealAll(rows);
    // Rows below a channel's first sequence are invisible (every read starts at firstSeq), so
    // their deletion can wait: one range DELETE per channel per second instead of one per
    // commit keeps steady publishing under limits cheap (fewer dead tuples on PostgreSQL).
    const now = this.opts.now();
    // A part isolating refused rows carries none: only its own rows can be refused then.
    const deletes = !b.isolating && this.deletesDue.size > 0 && (now - this.lastDeletesAt >= TRUNCATE_EVERY_MS || this.closing) ? new Map(this.deletesDue) : undefined;
    // Taken now, not after the commit: a pipelined transaction started meanwhile must not
    // delete the same rows again (it would wait on this one's row locks). Failed deletes stay
    // due and are retried a second later.
    if (deletes) this.lastDeletesAt = now;
    const thread = this.adapter.writeThread;
    if (thread !== undefined && (this.fence === undefined || this.fenceStatement !== undefined)) {
      await this.writeOnThread(thread, b, rows, deletes, gate);
      return;
    }
    if (gate !== undefined && this.adapter.name === 'sqlite') {
      // SQLite on the main thread (one connection, one transaction at a time): after the one
      // before it committed, and the next one starts only once this one committed.
      await gate.mayCommit();
      gate = undefined;
    }
    const eventRows: EventRow[] = b.events.map((e) => ({
      kind: e.kind,
      channel_id: 'channelID' in e ? e.channelID : null,
      body: Buffer.from(encodeEvent(e)),
    }));
    const direct = this.adapter.directEvents;
    if (direct !== undefined && rows.length === 0 && eventRows.length > 0 && eventRows.length <= DIRECT_EVENT_MAX_ROWS && this.plainBatch(b, deletes, gate)) {
      // A start-up's first commits, before Knex is made (dialect/event-insert.ts): one
      // autocommitted INSERT. The next batch starts only once it committed (its event IDs
      // must come after ours).
      await direct(eventRows);
      gate?.ready();
      this.committed(b, deletes);
      return;
    }
    const rowWrite = this.rowWrite(rows, b.retry);

    if (rowWrite.alone && this.fence === undefined && !this.needsServerRow && eventRows.length === 0 && deletes === undefined && b.dropChannels.length === 0 && (gate === undefined || gate.first)) {
      // Message rows alone (e.g. a sync publisher's) with no transaction before it in flight:
      // autocommitted, one round trip instead of three (BEGIN, rows, COMMIT). No event rows:
      // the next batch may start now.
      gate?.ready();
      await rowWrite.run(undefined);
      return;
    }
    const directTx = this.adapter.dialect.directTx;
    const fence = this.fence === undefined ? undefined : this.fenceStatement;
    if (directTx !== undefined && rowWrite.data !== undefined && (this.fence === undefined || fence !== undefined) && !this.needsServerRow && deletes === undefined && b.dropChannels.length === 0) {
      // The common batch (rows, events; FT's fence first when there is one): the same
      // statements without Knex's transaction objects, the fence with BEGIN in fewer round trips.
      const batch = { events: eventRows, eventsPerInsert: this.rowsPerInsert(3), rows, data: rowWrite.data, maxStatementBytes: this.adapter.maxStatementBytes };
      await writeDirect(this.adapter.knex, directTx, batch, gate, fence);
      this.committed(b, deletes);
      return;
    }
    await this.adapter.knex.transaction((trx) => this.writeIn(trx, b, eventRows, deletes, rowWrite, gate));
    this.committed(b, deletes);
  }

  /** No fence, no stan_server row, no deletes, not a retry, nothing in flight before it. */
  private plainBatch(b: Pending, deletes: Map<number, number> | undefined, gate: CommitGate | undefined): boolean {
    return this.fence === undefined && !this.needsServerRow && deletes === undefined && b.dropChannels.length === 0 && !b.retry && (gate === undefined || gate.first);
  }

  /**
   * The FILE store's write thread (sqlite-writer.ts): the batch is copied into a plan and
   * committed there in one transaction, fence first. Pipelined: while the batch before it is
   * still on the thread it is handed over `chained` (the thread commits it only after that
   * one committed, with it in one transaction when both wait there: sqlite-write-worker.ts),
   * so the thread starts on it without waiting for the main thread's round trip. A batch of a
   * few rows that someone awaits, with nothing before it in flight, is written inline instead
   * (sqlite-inline.ts: same statements); the next batch starts only once it is written (no
   * `ready()` before).
   */
  private async writeOnThread(thread: SqliteWriteThread, b: Pending, rows: MsgRow[], deletes: Map<number, number> | undefined, gate?: CommitGate): Promise<void> {
    // A failed WAL flush stops every write, the inline ones too (flush-failure.ts).
    if (thread.flushFailed !== undefined) throw thread.flushFailed;
    const earlier = gate?.earlier() ?? 'ok';
    if (earlier === 'failed') await gate?.mayCommit();
    const plan = packSqliteBatch(b.events, rows, {
      fence: this.fence === undefined ? undefined : threadFence(this.fenceStatement?.statement()),
      serverRow: this.needsServerRow ? { clusterID: this.opts.clusterID, createdAt: this.opts.now() } : undefined,
      deletes,
      dropChannels: b.dropChannels,
      skipExisting: b.retry,
      encrypting: this.opts.encrypting,
    });
    let result: SqliteWriteResult;
    // Inline only when someone waits for it (a sync publisher, a subscribe): a batch nobody
    // awaits (delivery progress, written back to back while a subscriber catches up) would
    // block the event loop for its commit and fsync and gain nothing from the shorter trip.
    if (earlier === 'ok' && b.waiters.length > 0 && rows.length + b.events.length <= SQLITE_INLINE_MAX_ROWS) {
      result = await (this.inline ??= new InlineSqliteWriter(this.adapter.sqliteWriter ?? (this.adapter.knex.client as SqliteConnectionSource))).write(plan);
    } else {
      // Handed over synchronously: the next batch, started after ready(), is queued behind it.
      const written = thread.write(plan, earlier === 'pending');
      gate?.ready();
      result = await written;
    }
    if (result === 'earlier-failed') {
      // Rejects (the batch is rolled back and queued again) when the batch before it failed.
      await gate?.mayCommit();
      throw new Error('the SQLite write thread was replaced before this batch was written; it is written again');
    }
    if (result === 'fence-lost' && this.fenceStatement !== undefined) throw this.fenceStatement.lost();
    this.committed(b, deletes);
  }

  /** Bookkeeping once `b` committed: deletes done, dropped channels forgotten. */
  private committed(b: Pending, deletes: Map<number, number> | undefined): void {
    if (deletes) {
      for (const [channelID, firstSeq] of deletes) if (this.deletesDue.get(channelID) === firstSeq) this.deletesDue.delete(channelID);
    }
    for (const channelID of b.dropChannels) {
      this.truncFloor.delete(channelID);
      this.deletesDue.delete(channelID);
    }
    this.needsServerRow = false;
  }

  /** The transaction's statements, in order (see write). */
  private async writeIn(trx: Knex.Transaction, b: Pending, eventRows: EventRow[], deletes: Map<number, number> | undefined, rowWrite: RowWrite, gate: CommitGate | undefined): Promise<void> {
    // The FT fence first, as in every write transaction: its UPDATE takes the lease row's
    // lock until COMMIT, and it sets the database's idle-transaction guard, so rows written
    // by a server paused mid-transaction never block its successor's writes. Pipelined, it
    // waits for the transaction before ours to commit (that one holds the lock): under FT
    // the lease row serializes the commits; without FT nothing does. Fences run in batch
    // order (the next batch starts after this one's fence), so they cannot deadlock.
    await this.fence?.(trx);
    // Deletes see committed rows only (PostgreSQL): rows an earlier transaction in flight
    // inserted would escape them, so a batch that deletes waits for that commit first.
    if (deletes || b.dropChannels.length > 0) await gate?.mayCommit();
    if (this.needsServerRow) {
      // Ignored when present: a retried first commit may have landed (see Pending.retry).
      await trx('stan_server').insert({ id: 1, cluster_id: this.opts.clusterID, created_at: this.opts.now() }).onConflict('id').ignore();
    }
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
    // Our event IDs are taken: the next batch may start writing (its IDs come after ours).
    // Message rows have no order in the log (their key is the sequence).
    gate?.ready();
    await rowWrite.run(trx);
    await gate?.mayCommit();
  }

  /**
   * How the message rows are written: the dialect's fast way (COPY, prepared INSERTs), except
   * for a retry (rows that may be stored already must be skipped, which only the INSERT with
   * insertIgnoreSuffix does), or multi-row INSERTs.
   */
  private rowWrite(rows: MsgRow[], retry: boolean): RowWrite {
    const knex = this.adapter.knex;
    const fast = retry ? undefined : this.adapter.dialect.writeMessageRows;
    if (fast !== undefined) {
      const data = rows.map((m) => rowData(m, this.opts.encrypting));
      const max = this.adapter.maxStatementBytes;
      return { alone: rows.length > 0, data, run: async (trx) => (rows.length > 0 ? fast(knex, trx, rows, data, max) : undefined) };
    }
    const inserts = this.messageInserts(rows, retry);
    return {
      alone: inserts.length === 1,
      run: async (trx) => {
        for (const [sql, flat] of inserts) await (trx ?? knex).raw(sql, flat);
      },
    };
  }

  /** Rows per multi-row INSERT: the dialect's bind-parameter limit and row cap (dialect/). */
  private rowsPerInsert(columns: number): number {
    return this.adapter.maxRowsPerInsert(columns);
  }

  /**
   * `skipExisting`: a retried batch may already be stored (see Pending.retry): rows whose key
   * exists are skipped instead of failing the batch again, forever. Only retries pay for it.
   */
  private messageInsert(n: number, skipExisting = false): string {
    const key = skipExisting ? -n : n;
    let sql = this.insertSql.get(key);
    if (sql === undefined) {
      sql = `insert into stan_messages (channel_id, seq, ts, size, data) values ${new Array<string>(n).fill('(?, ?, ?, ?, ?)').join(', ')}`;
      if (skipExisting) sql += this.adapter.dialect.insertIgnoreSuffix;
      if (this.insertSql.size > 256) this.insertSql.clear();
      this.insertSql.set(key, sql);
    }
    return sql;
  }

  /** Splits rows into multi-row INSERTs: [sql, flat bindings] each. */
  private messageInserts(rows: MsgRow[], skipExisting = false): Array<[string, Knex.Value[]]> {
    const arraySql = this.adapter.dialect.arrayInsertSql;
    if (arraySql !== undefined) return columnArrayInserts(rows, arraySql + (skipExisting ? this.adapter.dialect.insertIgnoreSuffix : ''), this.opts.encrypting, this.adapter.dialect.tsBound);
    const perInsert = Math.min(this.rowsPerInsert(5), this.opts.bulkInsertLimit > 0 ? this.opts.bulkInsertLimit : Infinity);
    // One view per row (rowData makes it), for its size and its binding.
    const data = rows.map((m) => rowData(m, this.opts.encrypting));
    const out: Array<[string, Knex.Value[]]> = [];
    let i = 0;
    while (i < rows.length) {
      // Bounded by bind parameters (or --sql_bulk_insert_limit) and by statement size
      // (max_allowed_packet: blobs travel hex-encoded in MySQL's text protocol).
      let bytes = 0;
      let j = i;
      while (j < rows.length && j - i < perInsert) {
        const cost = data[j].length * 2 + 64;
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
        flat[k++] = data[r];
      }
      out.push([this.messageInsert(j - i, skipExisting), flat]);
      i = j;
    }
    return out;
  }
}

/** Rows per array INSERT: bounds one statement's size (and the driver's array text) to ~10 MB of 128-byte rows. */
const ROWS_PER_ARRAY_INSERT = 20_000;

/** Message rows as one array per column, ROWS_PER_ARRAY_INSERT rows per statement. */
function columnArrayInserts(rows: MsgRow[], sql: string, encrypting: boolean, ts: (ts: number) => number | bigint): Array<[string, Knex.Value[]]> {
  const out: Array<[string, Knex.Value[]]> = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_ARRAY_INSERT) {
    const part = rows.slice(i, i + ROWS_PER_ARRAY_INSERT);
    // ts as the dialect's other writes store it (PostgreSQL: exact, as COPY does), as its digits.
    out.push([sql, [part.map((m) => m.channel_id), part.map((m) => m.seq), part.map((m) => String(ts(m.ts))), part.map((m) => m.size), part.map((m) => rowData(m, encrypting))]]);
  }
  return out;
}

/** The write thread needs only the UPDATE and its bindings (SQLite has no idle-transaction guard). */
function threadFence(f: FenceText | undefined): FenceStatement | undefined {
  return f === undefined ? undefined : { sql: f.sql, bindings: f.bindings };
}
