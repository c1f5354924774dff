/**
 * The SQL schema of the event store: table and column names (the one list every other module
 * and the identifier test read) and the typed Kysely table interfaces.
 *
 * Identifiers are lower-case, prefixed `stan_` for tables, and never a reserved word of
 * PostgreSQL, MySQL 8 or SQLite (test/unit/sql-identifiers.unit.test.ts checks them).
 *
 * Integer columns: BIGINT comes back as `string` from `pg`, as `number` (or `string` above
 * 2^53 with `bigNumberStrings`) from `mysql2` and as `number`/`bigint` from better-sqlite3,
 * so the select type is the union; the store's dialect adapter normalises.
 */
import type { ColumnType } from 'kysely';

/** Schema version 1 (migration 0001_initial): every table and its columns, in DDL order. */
export const TABLES = {
  stan_server: ['id', 'cluster_id', 'created_at'],
  stan_events: ['event_id', 'kind', 'channel_id', 'body'],
  stan_messages: ['channel_id', 'seq', 'ts', 'size', 'data'],
  stan_snapshots: ['snapshot_id', 'last_event_id', 'created_at', 'body'],
  /** Schema version 2 (0002_ft_lease): the fault-tolerance lease, one row per FT group. */
  stan_lease: ['group_name', 'owner', 'epoch', 'expires_at', 'writes'],
  /** Schema version 3 (0003_import_marker): the source and state of an import, one row. */
  stan_import: ['id', 'fingerprint', 'source', 'status', 'updated_at'],
  /** Umzug's record of applied migrations (written by migrator.ts's KnexUmzugStorage). */
  stan_migrations: ['name', 'applied_at', 'min_server_schema'],
} as const;

export type TableName = keyof typeof TABLES;

/**
 * Index names (PRIMARY KEY names are left to each dialect). `stan_messages_channel_ts` was
 * created by 0001_initial and dropped by 0004_drop_channel_ts_index: no query needs it (time
 * searches go through the primary key, ts-search.ts), but databases at schema ≤ 3 still have it.
 */
export const INDEXES = {
  stan_messages_channel_ts: 'stan_messages_channel_ts_idx',
} as const;

/** The table Umzug records applied migrations in. */
export const MIGRATIONS_TABLE = 'stan_migrations' satisfies TableName;

/** BIGINT as read back by the three drivers; written as number or bigint. */
export type Int64 = ColumnType<number | string | bigint, number | bigint, number | bigint>;
/** BIGINT auto-increment primary key (generated on insert, never updated). */
export type Int64Id = ColumnType<number | string | bigint, number | bigint | undefined, never>;
/** SMALLINT / INT. */
export type Int32 = ColumnType<number, number, number>;
/** BYTEA / MEDIUMBLOB / LONGBLOB / BLOB. */
export type Blob = ColumnType<Buffer, Buffer | Uint8Array, Buffer | Uint8Array>;

export interface StanServerTable {
  /** Always 1: one STAN cluster per database. */
  id: Int32;
  cluster_id: string;
  /** Unix ms. */
  created_at: Int64;
}

export interface StanEventsTable {
  event_id: Int64Id;
  /** `EventKind` (src/store/events/events.ts). */
  kind: Int32;
  channel_id: ColumnType<number | string | bigint | null, number | bigint | null | undefined, number | bigint | null>;
  body: Blob;
}

export interface StanMessagesTable {
  channel_id: Int64;
  seq: Int64;
  /** Unix ns. */
  ts: Int64;
  size: Int32;
  /** Marshalled MsgProto, encrypted when encryption is enabled. */
  data: Blob;
}

export interface StanSnapshotsTable {
  snapshot_id: Int64Id;
  last_event_id: Int64;
  /** Unix ms. */
  created_at: Int64;
  body: Blob;
}

export interface StanLeaseTable {
  /** The --ft_group name. */
  group_name: string;
  /** Server ID of the holder; '' when released. */
  owner: string;
  /** Incremented on every takeover: a write proves it holds (owner, epoch). */
  epoch: Int64;
  /** Database clock, Unix ms: the lease is free once the database's now passes it. */
  expires_at: Int64;
  /** Bumped by every fenced write transaction, so the fencing UPDATE always changes the row. */
  writes: Int64;
}

export interface StanImportTable {
  /** Always 1: a store is filled by at most one import. */
  id: Int32;
  /** Identifies the reference store imported (src/import/resume.ts). */
  fingerprint: string;
  /** The source as the user named it (directory, driver and database), for messages. */
  source: string;
  /** 'running' until the import finished, then 'complete'. */
  status: string;
  /** Unix ms. */
  updated_at: Int64;
}

export interface StanMigrationsTable {
  /** Migration name, `NNNN_description`. */
  name: string;
  /** Unix ms. */
  applied_at: Int64;
  /** The oldest schema version a server must support (its MAX_SCHEMA) to run on this schema. */
  min_server_schema: Int32;
}

/** Kysely's `Database` type for the event store. */
export interface Database {
  stan_server: StanServerTable;
  stan_events: StanEventsTable;
  stan_messages: StanMessagesTable;
  stan_snapshots: StanSnapshotsTable;
  stan_lease: StanLeaseTable;
  stan_import: StanImportTable;
  stan_migrations: StanMigrationsTable;
}

/** Compile-time proof that TABLES and Database name the same tables and columns. */
type ColumnsOf<T extends TableName> = (typeof TABLES)[T][number];
type SameKeys<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : false;
type AssertAll = {
  [T in TableName]: SameKeys<ColumnsOf<T>, keyof Database[T] & string>;
};
const schemaMatches: AssertAll = {
  stan_server: true,
  stan_events: true,
  stan_messages: true,
  stan_snapshots: true,
  stan_lease: true,
  stan_import: true,
  stan_migrations: true,
};
void schemaMatches;
const tablesMatch: SameKeys<TableName, keyof Database> = true;
void tablesMatch;
