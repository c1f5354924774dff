/**
 * The one place where PostgreSQL, MySQL/MariaDB and SQLite differ for the event store and the
 * FT lease: postgres.ts, mysql.ts and sqlite.ts each implement the Dialect interface
 * (types.ts): insert-ignore, the database clock, the idle-transaction guard, parameter limits,
 * error classification. Code elsewhere asks `dialectFor(name)` instead of branching on a name.
 *
 * Writes go through Knex (transactions, multi-row inserts, deletes) on a small writer pool;
 * reads go through Kysely with typed tables on a separate reader pool, so recovery or
 * monitoring reads never queue behind a group commit and vice versa.
 */
import type { Knex } from 'knex';
import type { Kysely } from 'kysely';
import type { Database } from '../schema';
import type { Dialect, DialectName } from './types';
import type { PageRead } from './page-reads';
import type { SnapshotRead } from './postgres-copy-out';
import type { DirectEventInsert } from './event-insert';
import type { PlainRows, PlainRowsMulti } from '../plain-reads';
import type { SqliteWriteThread } from '../sqlite-writer';
import type { SqliteConnectionSource } from '../sqlite-connection';
import { postgres } from './postgres';
import { mysql } from './mysql';
import { sqlite } from './sqlite';

export type { CommitErrorKind, Dialect, DialectName, EventRowValues } from './types';

const DIALECTS: Readonly<Record<DialectName, Dialect>> = { postgres, mysql, sqlite };

export function dialectFor(name: DialectName): Dialect {
  return DIALECTS[name];
}

/**
 * An open database: the dialect, the writer (Knex) and reader (Kysely) pools. `knex` and `db`
 * may be created on first use (open.ts): read them when needed, not ahead.
 */
export interface DialectAdapter {
  readonly name: DialectName;
  readonly dialect: Dialect;
  readonly knex: Knex;
  readonly db: Kysely<Database>;
  /** Rows per multi-row INSERT: rows × columns under the bind-parameter limit, and the dialect's own row cap. */
  maxRowsPerInsert(columns: number): number;
  /** Upper bound of one statement's size (MariaDB's max_allowed_packet); Infinity if none. */
  readonly maxStatementBytes: number;
  /** Cold page reads on the reader pool without the query builder (page-reads.ts), where open. */
  readonly readPage?: PageRead;
  /** The newest snapshot on the reader pool without the query builder, where faster (PostgreSQL: COPY binary). */
  readonly readSnapshot?: SnapshotRead;
  /**
   * Rows of a statement without parameters, on the reader pool without the query builder
   * (the start-up's schema check, schema-startup.ts; the recovery's reads, plain-reads.ts).
   */
  readonly rawRows: PlainRows;
  /** Rows of several such statements in one round trip (plain-reads.ts PlainRowsMulti). */
  readonly rawRowsMulti: PlainRowsMulti;
  /**
   * Event rows committed without Knex (event-insert.ts), offered only until Knex is made:
   * a start-up's first commits (the first connect's registration) then need no Knex.
   */
  readonly directEvents?: DirectEventInsert;
  /** SQLite only, when opened with a write thread: group commits go there (sqlite-writer.ts). */
  readonly writeThread?: SqliteWriteThread;
  /** SQLite: the main thread's writer connection, Knex's pool too (sqlite-connection.ts). */
  readonly sqliteWriter?: SqliteConnectionSource;
  close(): Promise<void>;
}

/** Database values of BIGINT columns come back as number or string depending on the driver. */
export function num(v: number | string | bigint | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}

export function toBuffer(v: Uint8Array | Buffer | string | null | undefined): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'binary');
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
