/** The Dialect interface (see index.ts); its own file so the dialect files do not import index.ts. */
import type { Knex } from 'knex';
import type { BulkMessages, FenceText } from '../../contract';

/** The columns of a group-commit row besides `data` (pending-batch.ts MsgRow). */
export interface MsgRowKey {
  readonly channel_id: number;
  readonly seq: number;
  readonly ts: number;
  /** The plaintext size (the data column is longer when sealed). */
  readonly size: number;
}

export type DialectName = 'postgres' | 'mysql' | 'sqlite';

/** An stan_events row as written (its ID is assigned by the database). */
export interface EventRowValues {
  readonly kind: number;
  readonly channel_id: number | null;
  readonly body: Buffer;
}

/**
 * A group commit's write transaction on a raw connection of the writer pool, without Knex's
 * transaction objects (direct-tx.ts): the same statements, in the same round trips, with a
 * fraction of the CPU per transaction. `conn` is the driver's connection as Knex pools it;
 * `insertEvents` also takes a pool with the same query call (a start-up's first commits,
 * autocommitted: event-insert.ts directEventInsert).
 */
export interface DirectTxDriver {
  /** A statement without parameters or results (BEGIN, COMMIT, ROLLBACK). */
  run(conn: unknown, sql: string): Promise<void>;
  /** One INSERT of `count` event rows, in this order (their IDs follow it): kind, channel_id, body per row. */
  insertEvents(conn: unknown, count: number, values: Array<number | Buffer | null>): Promise<void>;
  /** Message rows inside the open transaction (as Dialect.writeMessageRows). */
  writeRows(conn: unknown, rows: readonly MsgRowKey[], data: readonly Buffer[], maxStatementBytes: number): Promise<void>;
  /**
   * BEGIN, then the fence's guard and UPDATE (FT) in the transaction, in as few round trips
   * as the driver allows; true when the UPDATE changed exactly one row (the lease is ours).
   * The transaction stays open either way (the caller commits or rolls back).
   */
  fencedBegin(conn: unknown, fence: FenceText): Promise<boolean>;
}

/** What a failed write means (see commit-errors.ts for the three classes). */
export type CommitErrorKind = 'transient' | 'refused' | 'schema';

/** Everything in which PostgreSQL, MySQL/MariaDB and SQLite differ for the event store and the FT lease. */
export interface Dialect {
  readonly name: DialectName;
  /** Bind parameters one statement may carry. */
  readonly maxParams: number;
  /** Rows one multi-row INSERT may hold besides the parameter limit (SQLite: compound SELECT terms). */
  readonly maxRowsPerInsert: number;
  /**
   * A message timestamp (Unix ns, a double) as bound wherever `stan_messages.ts` is written by
   * a statement with bindings: the value the dialect's other writes
   * store for it. PostgreSQL: the double's exact integer (COPY binary and the prepared INSERT
   * write it; a number bound as text is its shortest decimal, up to 128 away above 2^53, so
   * a query `ts >= $1` missed a row stored with that very timestamp). MySQL/MariaDB and SQLite: the
   * number as it is (their writes store what the queries bind).
   */
  readonly tsBound: (ts: number) => number | bigint;
  /** Appended to `INSERT INTO stan_messages …`: rows whose (channel_id, seq) exists are skipped. */
  readonly insertIgnoreSuffix: string;
  /**
   * Message rows as one array per column (`INSERT … SELECT * FROM unnest(?, ?, ?, ?, ?)`,
   * bindings: channel_id[], seq[], ts[], size[], data[]), or undefined where the database has
   * no arrays. Five bind parameters whatever the row count: the driver binds and the server
   * parses five values instead of five per row.
   */
  readonly arrayInsertSql?: string;
  /**
   * The group commit's message rows the database's fastest way (PostgreSQL: COPY binary, a
   * prepared INSERT for a few rows),
   * inside `trx`, or on their own (all or none, autocommitted) when `trx` is undefined; undefined where
   * multi-row INSERTs are the fastest. Never used for a retried batch (rows that may exist
   * already are skipped with insertIgnoreSuffix, which COPY cannot do). `data[i]` is row i's
   * `data` column; `maxStatementBytes`: the adapter's statement size limit.
   */
  readonly writeMessageRows?: (knex: Knex, trx: Knex.Transaction | undefined, rows: readonly MsgRowKey[], data: readonly Buffer[], maxStatementBytes: number) => Promise<void>;
  /**
   * Unfenced group commits (no FT) without Knex's transaction objects (direct-tx.ts), where
   * the dialect has it; undefined: every write transaction goes through Knex.
   */
  readonly directTx?: DirectTxDriver;
  /**
   * Writes one channel's message rows inside `trx`, the database's fastest way (COPY, wide
   * INSERTs, a prepared statement): the import's bulk append (contract.ts BulkAppendStore).
   * `maxStatementBytes`: the adapter's statement size limit (MariaDB's max_allowed_packet).
   */
  /**
   * Channels the import appends at the same time (contract.ts BulkAppendStore.bulkLanes):
   * measured per database (docs/design/import.md, "Speed").
   */
  readonly bulkLanes: number;
  bulkInsertMessages(trx: Knex.Transaction, channelID: number, rows: BulkMessages, maxStatementBytes: number): Promise<void>;
  /** The database's current time in Unix milliseconds, as an SQL expression (FT lease). */
  readonly nowMs: string;
  /**
   * The statement that, inside a fenced transaction, makes the database end the session if
   * it sits idle in the transaction for longer than `ttlMs`; undefined when the database has
   * none. May ask the server (MariaDB vs MySQL).
   */
  idleTxGuard(knex: Knex, ttlMs: number): Promise<string | undefined>;
  /** The class of a failed write (the driver's error codes). */
  classifyCommitError(err: unknown): CommitErrorKind;
}

export function errField(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}
